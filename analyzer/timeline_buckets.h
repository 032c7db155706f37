// The buckets of a timeline: equal parts of a window of time, and the series
// of values filled in them as the events go by.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "analyzer/timeline.h"

namespace vramscope::analysis {

using u128 = unsigned __int128;

// The buckets over [start, end]: bucket i holds the times t with
// floor((t - start) * count / (end - start)) == i, and the last one also end.
struct TimelineWindow {
  uint64_t start = 0;
  uint64_t end = 0;
  size_t count = 0;

  uint64_t span() const { return end - start; }
  size_t bucket_of(uint64_t t) const {
    if (t >= end) return count - 1;
    return static_cast<size_t>(u128{t - start} * count / span());
  }
  uint64_t bucket_start(size_t i) const {
    return start + static_cast<uint64_t>((u128{i} * span() + count - 1) / count);
  }
};

// Series of bucket values filled as time goes forward: the value now, and per
// bucket the highest value and the value at its end.
class BucketSeries {
 public:
  BucketSeries(size_t series, size_t buckets) : buckets_(buckets), now_(series), values_(series * buckets) {}

  // Moves to bucket b (never back): the buckets passed end with the value now.
  void enter(size_t b) {
    if (started_ && b == current_) return;
    size_t first = 0;
    if (started_) {
      for (size_t s = 0; s < now_.size(); ++s) at(s, current_).end = now_[s];
      first = current_ + 1;
    }
    for (size_t i = first; i < b; ++i) {
      for (size_t s = 0; s < now_.size(); ++s) at(s, i) = BucketValue{now_[s], now_[s]};
    }
    for (size_t s = 0; s < now_.size(); ++s) at(s, b).max = now_[s];
    current_ = b;
    started_ = true;
  }
  void add(size_t s, uint64_t bytes) {
    now_[s] += bytes;
    if (started_) at(s, current_).max = std::max(at(s, current_).max, now_[s]);
  }
  void remove(size_t s, uint64_t bytes) { now_[s] -= bytes; }

  // Closes every bucket; then nothing is held after `trace_end`.
  void finish(const TimelineWindow& window, uint64_t trace_end) {
    enter(buckets_ - 1);
    for (size_t s = 0; s < now_.size(); ++s) at(s, buckets_ - 1).end = now_[s];
    for (size_t i = 0; i < buckets_; ++i) {
      if (window.bucket_start(i) <= trace_end) continue;
      for (size_t s = 0; s < now_.size(); ++s) at(s, i) = BucketValue{};
    }
  }

  TimelineSeries series(size_t s, std::string name) const {
    TimelineSeries result;
    result.name = std::move(name);
    result.buckets.assign(values_.begin() + static_cast<ptrdiff_t>(s * buckets_),
                          values_.begin() + static_cast<ptrdiff_t>((s + 1) * buckets_));
    for (const BucketValue& v : result.buckets) result.peak_bytes = std::max(result.peak_bytes, v.max);
    return result;
  }

 private:
  BucketValue& at(size_t s, size_t b) { return values_[s * buckets_ + b]; }

  size_t buckets_;
  std::vector<uint64_t> now_;
  std::vector<BucketValue> values_;  // series after series
  size_t current_ = 0;
  bool started_ = false;
};

// Which bucket each event of a walk falls in, by its index in the walk, kept
// as the first index of each bucket: for passes that see events by index
// only (a lifetime's allocation and free), after the walk.
class IndexBuckets {
 public:
  explicit IndexBuckets(const TimelineWindow& window) : window_(window), first_(window.count) {}

  // Call for every event of the walk, in order.
  void observe(size_t index, uint64_t time_ns) {
    if (time_ns < next_opens_ || ended_) return;  // most events: inside a bucket already opened
    if (time_ns < window_.start) return;
    if (time_ns > window_.end) {
      end_index_ = index;
      ended_ = true;
      return;
    }
    for (size_t b = window_.bucket_of(time_ns); opened_ <= b; ++opened_) first_[opened_] = index;
    next_opens_ = opened_ < first_.size() ? window_.bucket_start(opened_) : window_.end + 1;
  }
  // `events`: how many the walk had.
  void finish(size_t events) {
    if (!ended_) end_index_ = events;
    ended_ = true;
    for (; opened_ < first_.size(); ++opened_) first_[opened_] = end_index_;
  }

  bool before(size_t index) const { return index < first_.front(); }
  bool after(size_t index) const { return index >= end_index_; }
  // For an index neither before nor after the window.
  size_t bucket_of(size_t index) const {
    return static_cast<size_t>(std::upper_bound(first_.begin(), first_.end(), index) - first_.begin()) - 1;
  }
  // The same for indices that never go back from one call to the next:
  // `last` is the previous answer (0 at first), and the search walks on from it.
  size_t bucket_of(size_t index, size_t last) const {
    while (last + 1 < first_.size() && first_[last + 1] <= index) ++last;
    return last;
  }

 private:
  TimelineWindow window_;
  std::vector<size_t> first_;  // per bucket, the first event index at or after it
  size_t opened_ = 0;
  uint64_t next_opens_ = 0;  // the time bucket opened_ begins at, once one is open
  size_t end_index_ = 0;     // the first event past the window
  bool ended_ = false;
};

}  // namespace vramscope::analysis
