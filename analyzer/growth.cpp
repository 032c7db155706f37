// Growth across iterations.
#include "analyzer/growth.h"

#include <algorithm>

namespace vramscope::analysis {

GrowthFinder::GrowthFinder(const std::vector<IterationSpan>& iterations) {
  if (iterations.size() < 3) return;
  for (const IterationSpan& s : iterations) ends_.push_back(s.last_event);
}

void GrowthFinder::observe(const Lifetime& l) {
  size_t n = ends_.size();
  while (first_ < n && ends_[first_] < l.alloc_index) ++first_;
  // Most tensors die before the next iteration's end: no need to search.
  if (first_ >= n || l.free_index <= ends_[first_]) return;
  size_t past =
      static_cast<size_t>(std::lower_bound(ends_.begin(), ends_.end(), l.free_index) - ends_.begin());
  auto& group = changes_[{l.kind, l.device, l.stack.value}];
  group[first_] += static_cast<int64_t>(l.size);
  group[past] -= static_cast<int64_t>(l.size);
}

std::vector<GrowthGroup> GrowthFinder::groups() const {
  std::vector<GrowthGroup> result;
  size_t n = ends_.size();
  for (const auto& [key, deltas] : changes_) {
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
