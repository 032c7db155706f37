// Growth across iterations.
#include "analyzer/growth.h"

#include <algorithm>

namespace vramscope::analysis {

GrowthFinder::GrowthFinder(const std::vector<IterationSpan>& iterations) {
  if (iterations.size() >= 3) {
    for (const IterationSpan& s : iterations) ends_.push_back(s.last_event);
  }
  first_end_ = ends_.empty() ? kNeverFreed : ends_[0];
}

void GrowthFinder::move_past(size_t alloc_index) {
  size_t n = ends_.size();
  while (first_ < n && ends_[first_] < alloc_index) ++first_;
  first_end_ = first_ < n ? ends_[first_] : kNeverFreed;
}

void GrowthFinder::count(const Lifetime& l) {
  Key key{l.kind, l.device, l.stack.value};
  if (last_ == nullptr || key != last_key_) {
    last_ = &changes_[key];
    last_key_ = key;
  }
  const uint64_t size = l.size;
  std::vector<std::pair<size_t, uint64_t>>& rises = last_->rises;
  if (rises.empty() || rises.back().first != first_) rises.emplace_back(first_, 0);
  rises.back().second += size;
  if (l.free_index > ends_.back()) return;  // live at every end from first_ on
  size_t past =
      static_cast<size_t>(std::lower_bound(ends_.begin(), ends_.end(), l.free_index) - ends_.begin());
  last_->falls[past] += size;
}

std::vector<GrowthGroup> GrowthFinder::groups() const {
  std::vector<GrowthGroup> result;
  size_t n = ends_.size();
  for (const auto& [key, changes] : changes_) {
    uint64_t live = 0;
    auto rise = changes.rises.begin();
    auto fall = changes.falls.begin();
    std::vector<uint64_t> at_end(n);
    for (size_t k = 0; k < n; ++k) {
      for (; rise != changes.rises.end() && rise->first == k; ++rise) live += rise->second;
      for (; fall != changes.falls.end() && fall->first == k; ++fall) live -= fall->second;
      at_end[k] = live;
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
