// Live-at-exit groups.
#include "analyzer/leak_finder.h"

#include <algorithm>
#include <map>
#include <tuple>

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
  // The map already orders by kind, device and stack: a stable sort keeps that for ties.
  std::stable_sort(result.begin(), result.end(), [](const LiveGroup& a, const LiveGroup& b) {
    return a.bytes != b.bytes ? a.bytes > b.bytes : a.count > b.count;
  });
  return result;
}

}  // namespace vramscope::analysis
