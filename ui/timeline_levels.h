// The timeline at every zoom, computed once when a trace opens (Tracy's way):
// level 0 is the analyzer's finest timeline, each level above merges pairs of
// buckets of the one below, keeping their highest value. A frame then reads
// a few buckets per pixel column of the level just finer than a column,
// whatever the zoom: its cost is the columns drawn, not the events.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "analyzer/timeline.h"

namespace vramscope::ui {

class TimelineLevels {
 public:
  TimelineLevels() = default;
  explicit TimelineLevels(const analysis::Timeline& finest);

  // Series: 0 the allocated bytes, 1 the reserved, then the timeline's groups in their order.
  static constexpr size_t kAllocated = 0, kReserved = 1, kFirstGroup = 2;
  size_t series_count() const { return names_.size(); }
  const std::string& name(size_t series) const { return names_[series]; }
  bool by_site() const { return by_site_; }  // the groups are sites, else categories or kinds
  size_t level_count() const { return levels_.size(); }

  uint64_t start_ns() const { return start_ns_; }
  uint64_t end_ns() const { return end_ns_; }

  // The highest value of `series` in each of out.size() equal spans of
  // [from_ns, to_ns), one per pixel column; 0 outside the trace.
  void columns(size_t series, uint64_t from_ns, uint64_t to_ns, std::span<uint64_t> out) const;

 private:
  struct Level {
    double bucket_ns = 0;  // the width of one bucket
    size_t buckets = 0;
    std::vector<std::vector<uint64_t>> highest;  // [series][bucket]
  };
  // The bucket of `level` that holds `time_ns`, clamped to the level.
  size_t bucket_of(const Level& level, uint64_t time_ns) const;

  uint64_t start_ns_ = 0, end_ns_ = 1;
  bool by_site_ = false;
  std::vector<std::string> names_;
  std::vector<Level> levels_;  // finest first
};

}  // namespace vramscope::ui
