// Finds the training iterations of a trace: from NVTX ranges, from markers,
// or from the repeating pattern of its allocations.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "formats/trace_reader.h"

namespace vramscope::analysis {

// One iteration: the events from `first_event` to `last_event`, both included.
struct IterationSpan {
  size_t first_event = 0;
  size_t last_event = 0;
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
};

struct FoundIterations {
  std::string method = "none";  // "nvtx range 'NAME'", "marker 'NAME'", "repeating pattern" or "none"
  std::vector<IterationSpan> spans;  // in time order, never overlapping
};

// Watches the events go by and, at the end, finds the iterations. In that
// order of trust: the most frequent outermost NVTX range name (at least 2
// ranges), the most frequent marker name (at least 2 markers: each pair of
// neighbours bounds an iteration), else the repeating pattern of the
// allocations (see docs/report.md). Deterministic: ties go to the name seen first.
class IterationFinder {
 public:
  void observe(size_t index, const trace::Event& event) {
    if (event.type == trace::EventType::Alloc) {
      allocated(index, event);
    } else if (event.type == trace::EventType::Free) {
      freed(index, event);
    } else {
      events_ = index + 1;
      observe_other(index, event);
      last_ns_ = event.time_ns;
    }
  }
  // observe() for an Alloc event, and for a Free.
  void allocated(size_t index, const trace::Event& event) {
    events_ = index + 1;
    if (allocations_ >= kPatternWindow && !following_) {
      ++allocations_;  // past the window and off the pattern: nothing more to learn
    } else {
      observe_allocation(index, event);
    }
    last_ns_ = event.time_ns;
  }
  void freed(size_t index, const trace::Event& event) {
    events_ = index + 1;
    last_ns_ = event.time_ns;
  }

  // The last iteration of a pattern may end at an event the finder kept no
  // time of: then its time comes from one more walk, up to that event.
  FoundIterations finish(const trace::TraceContents& trace);

 private:
  struct Range {
    size_t push = 0;
    size_t pop = 0;
    uint64_t push_ns = 0;
    uint64_t pop_ns = 0;
    trace::StringId name;
  };
  struct Marker {
    size_t index = 0;
    uint64_t time_ns = 0;
    trace::StringId name;
  };
  // An allocation the pattern may start an iteration at.
  struct AllocMark {
    size_t index = 0;
    uint64_t time_ns = 0;
    uint64_t previous_ns = 0;  // the event before it
  };
  using Key = std::pair<uint32_t, uint64_t>;  // (stack, size) of an allocation
  struct Period {
    size_t length = 0;
    size_t start = 0;
    size_t repeats = 0;
  };

  bool from_ranges(const trace::TraceContents& trace, FoundIterations& found) const;
  bool from_markers(const trace::TraceContents& trace, FoundIterations& found) const;
  bool from_pattern(const trace::TraceContents& trace, FoundIterations& found);
  // The pattern search compares every period with every position: bounded so a
  // huge trace costs milliseconds. A job's first iterations already show it.
  static constexpr size_t kPatternWindow = 1 << 16;  // allocations searched
  static constexpr size_t kMaxPeriod = 512;          // allocations per iteration

  void observe_allocation(size_t index, const trace::Event& event);
  void observe_other(size_t index, const trace::Event& event);
  bool found_by_names() const;
  void start_following();
  const AllocMark* mark(size_t position) const;

  size_t events_ = 0;
  uint64_t last_ns_ = 0;
  std::map<uint32_t, std::vector<Range>> open_;  // per thread: pushed, not yet popped
  std::vector<Range> ranges_;                    // outermost ones
  std::vector<Marker> markers_;

  // The pattern: the first allocations are searched for a period, which is
  // then followed over the rest as they come.
  std::vector<Key> window_;
  std::vector<AllocMark> window_marks_;
  size_t allocations_ = 0;
  Period period_;
  bool following_ = false;
  size_t matched_to_ = 0;    // keys[j] == keys[j + length] for every j in [start, matched_to_)
  std::vector<Key> recent_;  // the last `length` keys, by position modulo length
  size_t phase_ = 0;         // the next position modulo length
  size_t start_phase_ = 0;   // an iteration's first position modulo length
  std::vector<std::pair<size_t, AllocMark>> later_marks_;  // past the window, at iteration starts
};

}  // namespace vramscope::analysis
