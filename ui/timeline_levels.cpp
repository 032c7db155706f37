// Builds the levels by halving, and answers a frame's columns from the level
// whose buckets are just narrower than a column.
#include "ui/timeline_levels.h"

#include <algorithm>
#include <cmath>

#include "ui/timeline_window.h"

namespace vramscope::ui {

TimelineLevels::TimelineLevels(const analysis::Timeline& finest)
    : by_site_(finest.by == analysis::TimelineGrouping::Site) {
  const TimelineWindow all = TimelineWindow::whole(finest);
  start_ns_ = all.from_ns;
  end_ns_ = all.to_ns;
  const size_t n = finest.bucket_count;
  if (n == 0) return;
  Level base;
  base.buckets = n;
  base.bucket_ns = static_cast<double>(end_ns_ - start_ns_) / static_cast<double>(n);
  auto add = [&](const analysis::TimelineSeries& series) {
    names_.push_back(series.name);
    std::vector<uint64_t>& highest = base.highest.emplace_back(n);
    for (size_t b = 0; b < n; ++b) highest[b] = series.buckets[b].max;
  };
  add(finest.allocated);
  add(finest.reserved);
  for (const analysis::TimelineSeries& group : finest.groups) add(group);
  levels_.push_back(std::move(base));
  while (levels_.back().buckets > 1) {
    const Level& below = levels_.back();
    Level up;
    up.buckets = (below.buckets + 1) / 2;
    up.bucket_ns = below.bucket_ns * 2;
    for (const std::vector<uint64_t>& values : below.highest) {
      std::vector<uint64_t>& merged = up.highest.emplace_back(up.buckets);
      for (size_t b = 0; b < up.buckets; ++b) {
        const size_t left = 2 * b, right = std::min(2 * b + 1, below.buckets - 1);
        merged[b] = std::max(values[left], values[right]);
      }
    }
    levels_.push_back(std::move(up));
  }
}

size_t TimelineLevels::bucket_of(const Level& level, uint64_t time_ns) const {
  if (time_ns <= start_ns_) return 0;
  const double offset = static_cast<double>(time_ns - start_ns_) / level.bucket_ns;
  return std::min(level.buckets - 1, static_cast<size_t>(offset));
}

void TimelineLevels::columns(size_t series, uint64_t from_ns, uint64_t to_ns, std::span<uint64_t> out) const {
  std::fill(out.begin(), out.end(), 0);
  if (levels_.empty() || out.empty() || to_ns <= from_ns) return;
  const uint64_t span = to_ns - from_ns;
  const double column_ns = static_cast<double>(span) / static_cast<double>(out.size());
  // The coarsest level whose buckets are no wider than a column.
  size_t level = 0;
  while (level + 1 < levels_.size() && levels_[level + 1].bucket_ns <= column_ns) ++level;
  const Level& l = levels_[level];
  const std::vector<uint64_t>& values = l.highest[series];
  for (size_t c = 0; c < out.size(); ++c) {
    const uint64_t begin = from_ns + whole_number(column_ns * static_cast<double>(c), span);
    uint64_t end =
        c + 1 == out.size() ? to_ns : from_ns + whole_number(column_ns * static_cast<double>(c + 1), span);
    if (end <= begin && begin < UINT64_MAX)
      end = begin + 1;  // a column narrower than a nanosecond shows the one it starts in
    if (end <= start_ns_ || begin >= end_ns_) continue;  // outside the trace
    const size_t first = bucket_of(l, begin);
    // The last bucket the column reaches into: the one holding its last nanosecond.
    const size_t last = std::max(first, bucket_of(l, end > begin ? end - 1 : begin));
    uint64_t highest = 0;
    for (size_t b = first; b <= last; ++b) highest = std::max(highest, values[b]);
    out[c] = highest;
  }
}

}  // namespace vramscope::ui
