// Growth across iterations.
#include "analyzer/growth.h"

#include <algorithm>
#include <map>
#include <tuple>

namespace vramscope::analysis {

std::vector<GrowthGroup> find_growth(const std::vector<Lifetime>& lifetimes,
                                     const std::vector<IterationSpan>& iterations) {
  std::vector<GrowthGroup> result;
  size_t n = iterations.size();
  if (n < 3) return result;
  std::vector<size_t> ends;
  for (const IterationSpan& s : iterations) ends.push_back(s.last_event);

  // Per group, the change of its live bytes at each iteration end: a
  // lifetime counts at ends k with alloc_index <= ends[k] < free_index.
  using Key = std::tuple<trace::MemoryKind, uint32_t, uint32_t>;
  std::map<Key, std::map<size_t, int64_t>> changes;
  for (const Lifetime& l : lifetimes) {
    size_t first = static_cast<size_t>(std::lower_bound(ends.begin(), ends.end(), l.alloc_index) - ends.begin());
    size_t past = static_cast<size_t>(std::lower_bound(ends.begin(), ends.end(), l.free_index) - ends.begin());
    if (first >= past) continue;
    auto& group = changes[{l.kind, l.device, l.stack.value}];
    group[first] += static_cast<int64_t>(l.size);
    group[past] -= static_cast<int64_t>(l.size);
  }

  for (const auto& [key, deltas] : changes) {
    int64_t live = 0;
    auto next = deltas.begin();
    std::vector<uint64_t> at_end(n);
    for (size_t k = 0; k < n; ++k) {
      for (; next != deltas.end() && next->first == k; ++next) live += next->second;
      at_end[k] = static_cast<uint64_t>(live);
    }
    bool climbs = true;
    for (size_t k = 2; k < n && climbs; ++k) climbs = at_end[k] > at_end[k - 1];
    if (!climbs) continue;
    auto [kind, device, stack] = key;
    result.push_back(GrowthGroup{kind, device, trace::StackId{stack}, (at_end[n - 1] - at_end[1]) / (n - 2), n,
                                 at_end[n - 1]});
  }
  std::stable_sort(result.begin(), result.end(), [](const GrowthGroup& a, const GrowthGroup& b) {
    return a.last_live_bytes > b.last_live_bytes;
  });
  return result;
}

}  // namespace vramscope::analysis
