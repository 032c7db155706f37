// Live-at-exit groups.
#include "analyzer/leak_finder.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "analyzer/report.h"

namespace vramscope::analysis {

std::vector<LiveGroup> group_live_allocations(const LiveMemory& live) {
  std::map<std::tuple<trace::MemoryKind, uint32_t, uint32_t>, LiveGroup> groups;
  live.for_each_live([&](const Allocation& a) {
    LiveGroup& group = groups[{a.kind, a.device, a.stack.value}];
    group.kind = a.kind;
    group.device = a.device;
    group.stack = a.stack;
    group.bytes += a.size;
    group.count += 1;
  });
  std::vector<LiveGroup> result;
  for (auto& [key, group] : groups) result.push_back(group);
  // Memory first, then address reservations, mappings and registrations (a
  // framework may reserve terabytes of addresses); each by bytes. The map
  // already orders by kind, device and stack: a stable sort keeps that for ties.
  std::stable_sort(result.begin(), result.end(), [](const LiveGroup& a, const LiveGroup& b) {
    bool a_memory = counts_as_leaked_memory(a.kind), b_memory = counts_as_leaked_memory(b.kind);
    if (a_memory != b_memory) return a_memory;
    return a.bytes != b.bytes ? a.bytes > b.bytes : a.count > b.count;
  });
  return result;
}

}  // namespace vramscope::analysis
