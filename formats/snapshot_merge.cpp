#include "formats/snapshot_merge.h"

#include <algorithm>
#include <map>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "formats/address_ranges.h"

namespace vramscope::trace {

namespace {

bool is_segment(const Event& e) {
  return e.type == EventType::Alloc && (e.kind == MemoryKind::Device || e.kind == MemoryKind::VirtualMap);
}

// The snapshot's names, stacks and frames, renumbered after the trace's own.
struct Renumbering {
  uint32_t strings = 0;
  uint32_t frames = 0;
  uint32_t stacks = 0;

  StringId string(StringId id) const { return id.valid() ? StringId{id.value + strings} : id; }
  FrameId frame(FrameId id) const { return id.valid() ? FrameId{id.value + frames} : id; }
  StackId stack(StackId id) const { return id.valid() ? StackId{id.value + stacks} : id; }
};

Renumbering append_names(TraceContents& into, const TraceContents& from) {
  auto last = [](size_t size) { return static_cast<uint32_t>(std::max<size_t>(size, 1) - 1); };
  Renumbering r{last(into.strings.size()), last(into.frames.size()), last(into.stack_nodes.size())};
  if (into.strings.empty()) into.strings.emplace_back();
  if (into.frames.empty()) into.frames.emplace_back();
  if (into.stack_nodes.empty()) into.stack_nodes.emplace_back();
  for (size_t i = 1; i < from.strings.size(); ++i) into.strings.push_back(from.strings[i]);
  for (size_t i = 1; i < from.frames.size(); ++i) {
    const Frame& f = from.frames[i];
    into.frames.push_back(Frame{r.frame(f.id), r.string(f.function), r.string(f.file), f.line});
  }
  for (size_t i = 1; i < from.stack_nodes.size(); ++i) {
    const StackNode& n = from.stack_nodes[i];
    into.stack_nodes.push_back(StackNode{r.stack(n.id), r.stack(n.parent), n.ip, r.frame(n.frame)});
  }
  return r;
}

// The driver's segment allocations, by address and size, to pair with the
// allocator's records of them.
class DriverSegments {
 public:
  explicit DriverSegments(const std::vector<Event>& native) : native_(native) {
    for (size_t i = 0; i < native.size(); ++i) {
      if (is_segment(native[i])) by_range_.emplace(std::pair{native[i].address, native[i].size}, i);
    }
  }
  // The index of the driver's allocation of `segment` nearest to `at_ns`; npos for none.
  size_t nearest(const Event& segment, int64_t at_ns) const {
    auto [first, last] = by_range_.equal_range({segment.address, segment.size});
    size_t best = kNone;
    uint64_t best_distance = 0;
    for (auto it = first; it != last; ++it) {
      const int64_t gap = static_cast<int64_t>(native_[it->second].time_ns) - at_ns;
      const uint64_t distance = static_cast<uint64_t>(gap < 0 ? -gap : gap);
      if (best == kNone || distance < best_distance) best = it->second, best_distance = distance;
    }
    return best;
  }
  static constexpr size_t kNone = static_cast<size_t>(-1);

 private:
  const std::vector<Event>& native_;
  std::multimap<std::pair<uint64_t, uint64_t>, size_t> by_range_;
};

// The gap from the snapshot's wall-clock placing to the trace's own record of
// each segment the snapshot's window made: the median of them, and how many.
std::pair<int64_t, size_t> segment_gap(const std::vector<Event>& native, const DriverSegments& driver,
                                       const std::vector<Event>& snapshot, int64_t placing_ns) {
  std::vector<int64_t> gaps;
  for (const Event& e : snapshot) {
    if (!is_segment(e) || e.time_ns == 0) continue;  // at 0: there before the window
    const int64_t placed = static_cast<int64_t>(e.time_ns) + placing_ns;
    if (size_t i = driver.nearest(e, placed); i != DriverSegments::kNone)
      gaps.push_back(static_cast<int64_t>(native[i].time_ns) - placed);
  }
  if (gaps.empty()) return {0, 0};
  std::nth_element(gaps.begin(), gaps.begin() + static_cast<ptrdiff_t>(gaps.size() / 2), gaps.end());
  return {gaps[gaps.size() / 2], gaps.size()};
}

// A driver allocation's stack under the Python stack that caused it: the
// Python frames outermost, then the native frames inside the interpreter
// (the framework's C++ down to cudaMalloc); the interpreter's own frames and
// those outside it are left out, the Python frames standing for them.
class PythonUnderNative {
 public:
  PythonUnderNative(TraceContents& trace) : trace_(trace) {}

  StackId combine(StackId python, StackId native) {
    if (!python.valid()) return native;
    auto [it, inserted] = made_.try_emplace((uint64_t{python.value} << 32) | native.value, StackId{});
    if (!inserted) return it->second;
    std::vector<StackNode> inside;  // innermost first
    for (const StackNode* node : trace_.stack_frames(native)) {
      if (!node->frame.valid() && in_interpreter(node->ip)) break;
      inside.push_back(*node);
    }
    StackId parent = python;
    for (auto node = inside.rbegin(); node != inside.rend(); ++node) {
      const StackId id{static_cast<uint32_t>(trace_.stack_nodes.size())};
      trace_.stack_nodes.push_back(StackNode{id, parent, node->ip, node->frame});
      parent = id;
    }
    return it->second = parent;
  }

 private:
  bool in_interpreter(uint64_t ip) const {
    for (const Module& m : trace_.modules) {
      if (ip < m.start || ip >= m.end) continue;
      std::string_view name = m.path;
      name.remove_prefix(std::min(name.size(), name.rfind('/') + 1));
      return name.starts_with("libpython") || name.starts_with("python");
    }
    return false;
  }

  TraceContents& trace_;
  std::unordered_map<uint64_t, StackId> made_;
};

// The trace time of each of the snapshot's events: its own time moved by
// the shift, in the snapshot's order, and never before the driver's
// allocation of the segment it lies in. One shift ties the clocks to a few
// microseconds only; the allocator records a segment after the driver has
// made it, and a block placed before its segment would lie in no segment.
std::vector<uint64_t> place(const std::vector<Event>& theirs, const std::vector<Event>& native,
                            const DriverSegments& driver, int64_t shift_ns) {
  struct Made {
    uint64_t size = 0;
    uint64_t driver_ns = 0;
  };
  std::map<uint64_t, Made> segments;  // the snapshot's live segments with the driver's time, by address
  std::vector<uint64_t> placed_at(theirs.size());
  uint64_t floor = 0;
  for (size_t j = 0; j < theirs.size(); ++j) {
    const Event& e = theirs[j];
    const int64_t placed = static_cast<int64_t>(e.time_ns) + shift_ns;
    floor = std::max(floor, placed > 0 ? static_cast<uint64_t>(placed) : 0);
    if (is_segment(e)) {
      const size_t i = driver.nearest(e, placed);
      if (i != DriverSegments::kNone && e.time_ns != 0) {
        segments[e.address] = Made{e.size, native[i].time_ns};
        floor = std::max(floor, native[i].time_ns);
      }
    } else if (e.type == EventType::Free &&
               (e.kind == MemoryKind::Device || e.kind == MemoryKind::VirtualMap)) {
      segments.erase(e.address);
    } else if (e.kind == MemoryKind::Heap || e.kind == MemoryKind::Block) {
      auto in = range_at(segments, e.address, [](const Made& m) { return m.size; });
      if (in != segments.end()) floor = std::max(floor, in->second.driver_ns);
    }
    placed_at[j] = floor;
  }
  return placed_at;
}

uint64_t device_total(const TraceContents& trace, uint32_t ordinal) {
  for (const DeviceInfo& d : trace.devices) {
    if (d.ordinal == ordinal) return d.total_bytes;
  }
  return 0;
}

}  // namespace

SnapshotMerge merge_snapshot(const TraceContents& native, const TraceContents& snapshot) {
  SnapshotMerge merge;
  std::vector<Event> events;
  native.events.for_each([&](size_t, const Event& e) { events.push_back(e); }, FreeFields::AsRecorded);
  const std::vector<Event> theirs = snapshot.events.collect();

  const int64_t placing =
      static_cast<int64_t>(snapshot.header.start_unix_ns) - static_cast<int64_t>(native.header.start_unix_ns);
  for (const Event& e : theirs) merge.segments_in_window += is_segment(e) && e.time_ns != 0;
  const DriverSegments driver(events);
  auto [gap, matched] = segment_gap(events, driver, theirs, placing);
  merge.segments_matched = matched;
  merge.shift_ns = placing + gap;

  TraceContents& out = merge.trace;
  out.source = native.source;
  out.header = native.header;
  out.devices = native.devices;
  out.threads = native.threads;
  out.modules = native.modules;
  out.end = native.end;
  out.cut_short = native.cut_short;
  out.cut_short_reason = native.cut_short_reason;
  out.strings = native.strings;
  out.frames = native.frames;
  out.stack_nodes = native.stack_nodes;
  const Renumbering r = append_names(out, snapshot);

  // The driver's segments take the Python stack of the allocation that made each.
  PythonUnderNative stacks(out);
  for (const Event& e : theirs) {
    if (!is_segment(e) || !e.stack.valid()) continue;
    const size_t i = driver.nearest(e, static_cast<int64_t>(e.time_ns) + merge.shift_ns);
    if (i == DriverSegments::kNone) continue;
    events[i].stack = stacks.combine(r.stack(e.stack), events[i].stack);
    merge.segments_with_python_stacks += 1;
  }

  // The driver's failed allocations that an allocator's out-of-memory notice
  // explains say so: those on its device between the allocator's entries
  // around the notice (its first try, and its try again after giving back
  // its cached segments). The notice comes after them: the clocks are tied to a few
  // microseconds only, and the allocator writes it once they have failed.
  const std::vector<uint64_t> placed_at = place(theirs, events, driver, merge.shift_ns);
  std::vector<uint64_t> notice_at(theirs.size(), 0);  // a notice's time, once moved after its attempts
  const size_t native_count = events.size();
  for (size_t j = 0; j < theirs.size(); ++j) {
    const Event& notice = theirs[j];
    if (notice.type != EventType::FailedAlloc) continue;
    uint64_t after = 0, before = UINT64_MAX;
    for (size_t k = j; k-- > 0;) {
      // The segments it gave back between its tries are part of the request.
      const bool released = theirs[k].type == EventType::Free &&
                            (theirs[k].kind == MemoryKind::Heap || theirs[k].kind == MemoryKind::Device);
      if (theirs[k].device == notice.device && !released) {
        after = placed_at[k];
        break;
      }
    }
    for (size_t k = j + 1; k < theirs.size(); ++k) {
      if (theirs[k].device == notice.device) {
        before = placed_at[k];
        break;
      }
    }
    uint64_t last_attempt = placed_at[j];
    for (size_t i = 0; i < native_count; ++i) {
      Event& failed = events[i];
      if (failed.type != EventType::FailedAlloc || failed.device != notice.device ||
          failed.time_ns <= after || failed.time_ns >= before)
        continue;
      failed.via = Api::cachingAllocator;
      last_attempt = std::max(last_attempt, failed.time_ns + 1);
    }
    notice_at[j] = last_attempt;
  }

  for (size_t j = 0; j < theirs.size(); ++j) {
    Event e = theirs[j];
    const bool segment = e.kind == MemoryKind::Device && e.type != EventType::FailedAlloc;
    if (segment) continue;  // the trace has the driver's own record of it
    e.time_ns = e.type == EventType::FailedAlloc ? notice_at[j] : placed_at[j];
    e.stack = r.stack(e.stack);
    e.name = r.string(e.name);
    if (!e.thread.valid()) e.thread = ThreadIndex{1};
    if (e.type == EventType::FailedAlloc && e.total_bytes == 0)
      e.total_bytes = device_total(native, e.device);
    merge.blocks += e.type == EventType::Alloc && e.kind == MemoryKind::Block;
    merge.out_of_memory += e.type == EventType::FailedAlloc;
    events.push_back(e);
  }
  // The trace's events first where times tie: a segment before the blocks in it.
  std::stable_sort(events.begin(), events.end(),
                   [](const Event& a, const Event& b) { return a.time_ns < b.time_ns; });
  if (out.threads.empty()) out.threads.push_back(Thread{ThreadIndex{1}, native.header.pid, "main"});
  out.events = EventLog(std::move(events));
  return merge;
}

}  // namespace vramscope::trace
