// Iteration detection.
#include "analyzer/iterations.h"

#include <algorithm>
#include <map>
#include <string_view>
#include <utility>

namespace vramscope::analysis {

namespace {

// The name of most occurrences among `names` (first seen wins a tie), if it has at least 2.
const std::string* most_frequent(const std::vector<const std::string*>& names) {
  std::map<std::string, size_t> counts;
  const std::string* best = nullptr;
  size_t best_count = 1;
  for (const std::string* name : names) ++counts[*name];
  for (const std::string* name : names) {
    size_t count = counts[*name];
    if (count > best_count) {
      best = name;
      best_count = count;
    }
  }
  return best;
}

// torch.profiler numbers the ranges of its steps: "ProfilerStep#12".
bool is_profiler_step(const std::string& name) {
  constexpr std::string_view prefix = "ProfilerStep#";
  return name.size() > prefix.size() && name.starts_with(prefix) &&
         std::all_of(name.begin() + prefix.size(), name.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

void IterationFinder::observe_other(size_t index, const trace::Event& e) {
  switch (e.type) {
    case trace::EventType::RangePush:
      open_[e.thread.value].push_back(Range{index, 0, e.time_ns, 0, e.name});
      break;
    case trace::EventType::RangePop: {
      std::vector<Range>& stack = open_[e.thread.value];
      if (stack.empty()) break;  // a pop without its push: the trace began inside the range
      Range range = stack.back();
      stack.pop_back();
      if (!stack.empty()) break;
      range.pop = index;
      range.pop_ns = e.time_ns;
      ranges_.push_back(range);
      break;
    }
    case trace::EventType::Marker:
      markers_.push_back(Marker{index, e.time_ns, e.name});
      break;
    default:
      break;
  }
}

void IterationFinder::observe_allocation(size_t index, const trace::Event& e) {
  Key key{e.stack.value, e.size};
  AllocMark here{index, e.time_ns, last_ns_};
  size_t position = allocations_++;
  if (position < kPatternWindow) {
    window_.push_back(key);
    window_marks_.push_back(here);
    if (window_.size() == kPatternWindow && !found_by_names()) start_following();
    return;
  }
  if (!following_) return;
  if (phase_ == start_phase_) later_marks_.emplace_back(position, here);
  Key& earlier = recent_[phase_];  // the key one period back
  if (++phase_ == period_.length) phase_ = 0;
  if (earlier == key) {
    ++matched_to_;
  } else {
    following_ = false;
  }
  earlier = key;
}

// Whether ranges or markers already name iterations: a name seen twice
// decides (see finish), and the pattern would never be used.
bool IterationFinder::found_by_names() const {
  auto repeats_a_name = [](const auto& items) {
    std::vector<uint32_t> names;
    for (const auto& item : items) names.push_back(item.name.value);
    std::sort(names.begin(), names.end());
    return std::adjacent_find(names.begin(), names.end()) != names.end();
  };
  return repeats_a_name(ranges_) || repeats_a_name(markers_);
}

// The period that covers the most allocations of the window with whole
// repeats (the smallest such period on a tie), then followed as far as the
// window goes.
void IterationFinder::start_following() {
  Period best;
  const std::vector<Key>& keys = window_;
  size_t window = keys.size();
  for (size_t p = 2; p <= std::min(kMaxPeriod, window / 2); ++p) {
    size_t run = 0;
    size_t run_start = 0;
    Period here{p, 0, 0};
    for (size_t i = 0; i + p < window; ++i) {
      if (keys[i] == keys[i + p]) {
        if (run == 0) run_start = i;
        ++run;
      } else {
        run = 0;
      }
      size_t repeats = (run + p) / p;
      if (run >= p && repeats > here.repeats) here = Period{p, run_start, repeats};
    }
    if (here.repeats >= 2 && here.repeats * p > best.repeats * best.length) best = here;
  }
  period_ = best;
  if (best.repeats < 2) return;
  size_t i = best.start + best.repeats * best.length - best.length;
  while (i + best.length < window && keys[i] == keys[i + best.length]) ++i;
  matched_to_ = i;
  following_ = i + best.length >= window;  // the run reaches the window's end: it may go on
  if (!following_) return;
  recent_.resize(best.length);
  for (size_t q = window - best.length; q < window; ++q) recent_[q % best.length] = keys[q];
  phase_ = window % best.length;
  start_phase_ = best.start % best.length;
}

const IterationFinder::AllocMark* IterationFinder::mark(size_t position) const {
  if (position < window_marks_.size()) return &window_marks_[position];
  auto found = std::lower_bound(later_marks_.begin(), later_marks_.end(), position,
                                [](const auto& entry, size_t p) { return entry.first < p; });
  return found != later_marks_.end() && found->first == position ? &found->second : nullptr;
}

bool IterationFinder::from_ranges(const trace::TraceContents& trace, FoundIterations& found) const {
  std::vector<Range> ranges = ranges_;
  // A range still open at the end (a trace cut short) ends with the trace.
  for (const auto& [thread, stack] : open_) {
    if (stack.empty()) continue;
    Range range = stack.front();
    range.pop = events_ - 1;
    range.pop_ns = last_ns_;
    ranges.push_back(range);
  }
  std::stable_sort(ranges.begin(), ranges.end(),
                   [](const Range& a, const Range& b) { return a.push < b.push; });
  std::vector<const std::string*> names;
  size_t steps = 0;
  for (const Range& r : ranges) {
    names.push_back(&trace.string(r.name));
    steps += is_profiler_step(*names.back());
  }
  // A profiler's own steps are the iterations, however many other ranges
  // there are (the autograd thread's outermost ops outnumber them).
  const std::string step_name = "ProfilerStep#N";
  const std::string* name = steps >= 2 ? &step_name : most_frequent(names);
  if (!name) return false;
  auto named = [&](const Range& r) {
    return name == &step_name ? is_profiler_step(trace.string(r.name)) : trace.string(r.name) == *name;
  };
  found.method = "nvtx range '" + *name + "'";
  size_t after = 0;  // ranges of other threads may overlap: keep the iterations apart
  for (const Range& r : ranges) {
    if (!named(r) || (!found.spans.empty() && r.push <= after)) continue;
    found.spans.push_back(IterationSpan{r.push, r.pop, r.push_ns, r.pop_ns});
    after = r.pop;
  }
  return true;
}

bool IterationFinder::from_markers(const trace::TraceContents& trace, FoundIterations& found) const {
  std::vector<const std::string*> names;
  for (const Marker& m : markers_) names.push_back(&trace.string(m.name));
  const std::string* name = most_frequent(names);
  if (!name) return false;
  found.method = "marker '" + *name + "'";
  const Marker* previous = nullptr;
  for (const Marker& m : markers_) {
    if (trace.string(m.name) != *name) continue;
    if (previous)
      found.spans.push_back(IterationSpan{previous->index, m.index, previous->time_ns, m.time_ns});
    previous = &m;
  }
  return true;
}

bool IterationFinder::from_pattern(const trace::TraceContents& trace, FoundIterations& found) {
  if (allocations_ < kPatternWindow) start_following();  // the window never filled: search what there is
  Period period = period_;
  if (period.repeats < 2) return false;
  period.repeats = (matched_to_ - period.start + period.length) / period.length;
  found.method = "repeating pattern";
  // Each iteration runs to the event before the next one's first allocation;
  // the last one as many events as the one before it.
  size_t events_per_iteration = 0;
  for (size_t k = 0; k < period.repeats; ++k) {
    const AllocMark& first = *mark(period.start + k * period.length);
    const AllocMark* next = mark(period.start + (k + 1) * period.length);
    IterationSpan span{first.index, 0, first.time_ns, 0};
    if (k + 1 < period.repeats) {
      span.last_event = next->index - 1;
      span.end_ns = next->previous_ns;
      events_per_iteration = span.last_event - span.first_event + 1;
    } else {
      span.last_event = std::min(first.index + events_per_iteration - 1, events_ - 1);
      span.end_ns = span.last_event == events_ - 1 ? last_ns_ : 0;
      // Never into the allocations that follow the pattern.
      if (next && next->index - 1 <= span.last_event) {
        span.last_event = next->index - 1;
        span.end_ns = next->previous_ns;
      } else if (span.last_event != events_ - 1) {
        trace.events.for_each_until(span.last_event,
                                    [&](size_t, const trace::Event& e) { span.end_ns = e.time_ns; });
      }
    }
    found.spans.push_back(span);
  }
  return true;
}

FoundIterations IterationFinder::finish(const trace::TraceContents& trace) {
  FoundIterations found;
  if (events_ == 0) return found;
  if (!from_ranges(trace, found) && !from_markers(trace, found)) from_pattern(trace, found);
  return found;
}

}  // namespace vramscope::analysis
