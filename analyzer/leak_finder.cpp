// Live-at-exit groups, and which of them are leaks.
#include "analyzer/leak_finder.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "analyzer/report.h"
#include "formats/address_ranges.h"

namespace vramscope::analysis {

namespace {

// Segments by address, on their device; a handle is no address.
bool addressed_segment(const Allocation& a) {
  return trace::occupies_device_memory(a.kind) && a.kind != trace::MemoryKind::VirtualPhysical && a.size > 0;
}

// The range of `ranges` (start → size) that holds [address, address + size),
// or null.
const std::pair<const uint64_t, uint64_t>* holding(const std::map<uint64_t, uint64_t>& ranges,
                                                   uint64_t address, uint64_t size) {
  auto at = range_at(ranges, address);
  return at != ranges.end() && range_holds(at->first, at->second, address, size) ? &*at : nullptr;
}

}  // namespace

LeakRule::LeakRule(const LiveMemory& live) {
  if (live.kind_bytes(trace::MemoryKind::Heap) == 0) return;  // no allocator: nothing cached
  std::map<uint32_t, std::map<uint64_t, uint64_t>> segments;  // device → start → size
  std::vector<const Allocation*> heaps;
  live.for_each_live([&](const Allocation& a) {
    if (addressed_segment(a)) segments[a.device][a.address] = a.size;
    if (a.kind == trace::MemoryKind::Heap && a.size > 0) heaps.push_back(&a);
  });
  for (const Allocation* heap : heaps) {
    auto on_device = segments.find(heap->device);
    if (on_device == segments.end()) continue;
    if (const auto* segment = holding(on_device->second, heap->address, heap->size))
      cached_[heap->device][segment->first] = segment->second;
  }
}

bool LeakRule::in_cached_segment(const Allocation& a) const {
  auto on_device = cached_.find(a.device);
  return on_device != cached_.end() && holding(on_device->second, a.address, a.size) != nullptr;
}

bool LeakRule::cached(const Allocation& a) const {
  if (cached_.empty() || !addressed_segment(a)) return false;
  auto on_device = cached_.find(a.device);
  return on_device != cached_.end() && on_device->second.contains(a.address);
}

bool LeakRule::counts(const Allocation& a) const {
  if (a.kind == trace::MemoryKind::Block) return in_cached_segment(a);
  return counts_as_leaked_memory(a.kind) && !cached(a);
}

std::vector<LiveGroup> group_live_allocations(const LiveMemory& live) {
  const LeakRule rule(live);
  std::map<std::tuple<trace::MemoryKind, uint32_t, uint32_t, bool, bool>, LiveGroup> groups;
  live.for_each_live([&](const Allocation& a) {
    const bool counted = rule.counts(a), cached = rule.cached(a);
    LiveGroup& group = groups[{a.kind, a.device, a.stack.value, counted, cached}];
    group.kind = a.kind;
    group.device = a.device;
    group.stack = a.stack;
    group.counted = counted;
    group.cached = cached;
    group.bytes += a.size;
    group.count += 1;
  });
  std::vector<LiveGroup> result;
  for (auto& [key, group] : groups) result.push_back(group);
  // What counts first, then address reservations, mappings, registrations
  // (a framework may reserve terabytes of addresses) and an allocator's
  // cache; each by bytes. The map already orders by kind, device and stack:
  // a stable sort keeps that for ties.
  std::stable_sort(result.begin(), result.end(), [](const LiveGroup& a, const LiveGroup& b) {
    if (a.counted != b.counted) return a.counted;
    return a.bytes != b.bytes ? a.bytes > b.bytes : a.count > b.count;
  });
  return result;
}

}  // namespace vramscope::analysis
