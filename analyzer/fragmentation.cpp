// Segments, blocks and holes, updated one event at a time: a block placed or
// taken out touches only the hole around it, so every figure stays O(log n).
#include "analyzer/fragmentation.h"

#include <algorithm>
#include <iterator>

#include "formats/address_ranges.h"

namespace vramscope::analysis {

bool FragmentationTracker::apply(const trace::Event& e, const LiveChange& change, const LiveMemory& live) {
  // Segments come and go as the live set says: a free's own record may not
  // say what it frees.
  bool changed = false;
  auto gone = [&](const Allocation& a) {
    if (!is_segment_kind(a.kind) || a.size == 0) return;
    remove_segment(device(a.device), a);
    changed = true;
  };
  if (change.displaced) gone(*change.displaced);  // an Alloc at a live address: its Free is missing
  if (change.what == LiveChange::What::Freed) gone(change.allocation);
  const Allocation& made = change.allocation;
  if (change.what == LiveChange::What::Allocated && is_segment_kind(made.kind) && made.size > 0) {
    add_segment(device(made.device), made);
    changed = true;
  }
  if (changed) return true;
  bool alloc = e.type == trace::EventType::Alloc;
  if (e.kind == trace::MemoryKind::Heap && alloc) {
    Device& d = device(e.device);
    order_segments(d, e.device, live);
    uint64_t start = 0;
    Segment* s = segment_containing(d, e.address, &start);
    if (s == nullptr || s->has_blocks) return false;
    mark_has_blocks(d, start, *s);
    return true;
  }
  if (e.kind == trace::MemoryKind::Block && (alloc || e.type == trace::EventType::Free)) {
    Device& d = device(e.device);
    order_segments(d, e.device, live);
    bool removed = remove_block(d, e.address);
    bool added = alloc && add_block(d, e.address, e.size);
    return removed || added;
  }
  return false;
}

namespace {

// The device's live segments with a size, by address, then kind (a VMM
// handle may equal a pointer): the live set's own order is no order at all.
std::vector<Allocation> live_segments(const LiveMemory& live, uint32_t device) {
  std::vector<Allocation> segments;
  live.for_each_live([&](const Allocation& a) {
    if (a.device == device && is_segment_kind(a.kind) && a.size != 0) segments.push_back(a);
  });
  std::sort(segments.begin(), segments.end(), [](const Allocation& a, const Allocation& b) {
    return a.address != b.address ? a.address < b.address : a.kind < b.kind;
  });
  return segments;
}

}  // namespace

void FragmentationTracker::order_segments(Device& d, uint32_t ordinal, const LiveMemory& live) {
  if (d.ordered) return;
  d.ordered = true;
  any_ordered_ = true;
  for (const Allocation& a : live_segments(live, ordinal)) add_segment(d, a);
}

void FragmentationTracker::add_segment(Device& d, const Allocation& a) {
  if (!d.ordered) return;
  Segment& s = d.segments[a.address];
  s.kind = a.kind;
  s.size = a.size;
  d.segment_count += 1;
  d.segment_bytes += a.size;
  d.used_bytes += a.size;
}

void FragmentationTracker::remove_segment(Device& d, const Allocation& a) {
  if (!d.ordered) return;
  d.segment_count -= 1;
  d.segment_bytes -= a.size;
  auto found = d.segments.find(a.address);
  if (found == d.segments.end()) {
    d.used_bytes -= a.size;
    return;
  }
  const Segment& s = found->second;
  if (s.has_blocks) {
    for (const AddressRange& hole : holes_of(a.address, s)) remove_hole(d, hole.size);
    d.used_bytes -= s.block_bytes;
  } else {
    d.used_bytes -= s.size;
  }
  d.segments.erase(found);
}

void FragmentationTracker::mark_has_blocks(Device& d, uint64_t, Segment& s) {
  s.has_blocks = true;
  d.ever_blocks = true;
  d.used_bytes -= s.size;  // no block placed yet: the whole segment is one hole
  add_hole(d, s.size);
}

FragmentationTracker::Segment* FragmentationTracker::segment_containing(Device& d, uint64_t address,
                                                                        uint64_t* start) {
  auto at = range_at(d.segments, address, [](const Segment& s) { return s.size; });
  if (at == d.segments.end()) return nullptr;
  *start = at->first;
  return &at->second;
}

// Places within a segment are offsets from its start, so that a segment
// that ends at the top of the address space (start + size = 2^64) has the
// same blocks and holes as any other.
bool FragmentationTracker::add_block(Device& d, uint64_t address, uint64_t size) {
  uint64_t start = 0;
  Segment* s = segment_containing(d, address, &start);
  if (s == nullptr || size == 0) return false;
  const uint64_t offset = address - start;
  if (size > s->size - offset) size = s->size - offset;  // a block past its segment is cut at its end
  auto next = s->blocks.lower_bound(address);
  uint64_t right = next == s->blocks.end() ? s->size : next->first - start;
  uint64_t left = 0;
  if (next != s->blocks.begin()) {
    auto prev = std::prev(next);
    left = prev->first - start + prev->second;
  }
  // Overlapping blocks are an allocator's mistake: the later one is left out of the map.
  if (left > offset || right - offset < size) return false;
  if (!s->has_blocks) mark_has_blocks(d, start, *s);
  remove_hole(d, right - left);
  add_hole(d, offset - left);
  add_hole(d, right - offset - size);
  s->blocks.emplace(address, size);
  s->block_bytes += size;
  d.used_bytes += size;
  return true;
}

bool FragmentationTracker::remove_block(Device& d, uint64_t address) {
  uint64_t start = 0;
  Segment* s = segment_containing(d, address, &start);
  if (s == nullptr) return false;
  auto found = s->blocks.find(address);
  if (found == s->blocks.end()) return false;
  const uint64_t offset = address - start, size = found->second;
  auto next = std::next(found);
  uint64_t right = next == s->blocks.end() ? s->size : next->first - start;
  uint64_t left = 0;
  if (found != s->blocks.begin()) {
    auto prev = std::prev(found);
    left = prev->first - start + prev->second;
  }
  remove_hole(d, offset - left);
  remove_hole(d, right - offset - size);
  add_hole(d, right - left);
  s->blocks.erase(found);
  s->block_bytes -= size;
  d.used_bytes -= size;
  return true;
}

void FragmentationTracker::add_hole(Device& d, uint64_t size) {
  if (size == 0) return;
  d.holes.insert(size);
  d.total_free += size;
}

void FragmentationTracker::remove_hole(Device& d, uint64_t size) {
  if (size == 0) return;
  auto found = d.holes.find(size);
  if (found == d.holes.end()) return;
  d.holes.erase(found);
  d.total_free -= size;
}

std::vector<AddressRange> FragmentationTracker::holes_of(uint64_t start, const Segment& s) {
  std::vector<AddressRange> holes;
  uint64_t done = 0;  // the segment's bytes before the next block, from its start
  for (const auto& [address, size] : s.blocks) {
    const uint64_t offset = address - start;
    if (offset > done) holes.push_back(AddressRange{start + done, offset - done});
    done = offset + size;
  }
  if (s.size > done) holes.push_back(AddressRange{start + done, s.size - done});
  return holes;
}

FragmentationFigures FragmentationTracker::figures(uint32_t device, const LiveMemory& live) const {
  FragmentationFigures f;
  auto found = devices_.find(device);
  if (found == devices_.end() || !found->second.ordered) {  // every live segment is one used block
    f.segment_bytes = f.block_bytes = live.device_bytes(device);
    f.segments = live.device_segments(device);
    return f;
  }
  const Device& d = found->second;
  f.segment_bytes = d.segment_bytes;
  f.segments = d.segment_count;
  f.block_bytes = d.used_bytes;
  f.total_free_bytes = d.total_free;
  f.largest_free_bytes = d.holes.empty() ? 0 : *d.holes.rbegin();
  return f;
}

DeviceFragmentationMap FragmentationTracker::map(uint32_t device, const LiveMemory& live) const {
  DeviceFragmentationMap result;
  result.figures = figures(device, live);
  auto found = devices_.find(device);
  if (found == devices_.end()) return result;
  const Device& d = found->second;
  if (!d.ordered) {  // no block data: every live segment is one used block
    for (const Allocation& a : live_segments(live, device)) {
      AddressRange range{a.address, a.size};
      result.segments.push_back(SegmentMap{a.kind, range, false, {range}, {}});
    }
    return result;
  }
  for (const auto& [start, s] : d.segments) {
    SegmentMap segment{s.kind, AddressRange{start, s.size}, s.has_blocks, {}, {}};
    if (s.has_blocks) {
      for (const auto& [address, size] : s.blocks) segment.blocks.push_back(AddressRange{address, size});
      segment.holes = holes_of(start, s);
    } else {
      segment.blocks.push_back(segment.range);
    }
    result.segments.push_back(std::move(segment));
  }
  return result;
}

bool FragmentationTracker::has_block_data(uint32_t device) const {
  auto found = devices_.find(device);
  return found != devices_.end() && found->second.ever_blocks;
}

DeviceFragmentationMap fragmentation_at(const trace::TraceContents& trace, uint32_t device, uint64_t time_ns) {
  LiveMemory live;
  FragmentationTracker tracker;
  walk_with_live_set_until(
      trace.events, live, time_ns,
      [&](const trace::Event& event, const LiveChange& change) { tracker.apply(event, change, live); });
  return tracker.map(device, live);
}

FragmentationReport fragmentation_report(const FragmentationFigures& f, uint64_t time_ns) {
  return FragmentationReport{time_ns,          f.segments,           f.segment_bytes,
                             f.block_bytes,    f.total_free_bytes,   f.largest_free_bytes,
                             f.reserved_but_unallocated_bytes(), f.metric()};
}

void FragmentationWatch::observe_change(const trace::Event& event, const LiveChange& change,
                                        const LiveMemory& live, bool at_peak) {
  bool changed = tracker_.apply(event, change, live);
  uint32_t device = event.device;
  if (at_peak) {
    at_peak_[device] = FragmentationMoment{tracker_.figures(device, live), event.time_ns};
    peak_open_.insert(device);
  } else if (changed && !peak_open_.empty() && peak_open_.count(device)) {
    if (event.kind == trace::MemoryKind::Heap) {
      at_peak_[device].figures = tracker_.figures(device, live);
    } else {
      peak_open_.erase(device);
    }
  }
  if (!changed || !tracker_.has_free(device)) return;
  FragmentationFigures now = tracker_.figures(device, live);
  auto worst = worst_.find(device);
  if (worst == worst_.end() || now.metric() > worst->second.figures.metric()) {
    worst_[device] = FragmentationMoment{now, event.time_ns};
  }
}

}  // namespace vramscope::analysis
