// Iteration detection.
#include "analyzer/iterations.h"

#include <algorithm>
#include <map>
#include <utility>

namespace vramscope::analysis {

namespace {

// The pattern search compares every period with every position: bounded so a
// huge trace costs milliseconds. A job's first iterations already show it.
constexpr size_t kPatternWindow = 1 << 16;  // allocations searched
constexpr size_t kMaxPeriod = 512;          // allocations per iteration

IterationSpan span(const trace::TraceContents& trace, size_t first, size_t last) {
  return IterationSpan{first, last, trace.events[first].time_ns, trace.events[last].time_ns};
}

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

struct Range {
  size_t push = 0;
  size_t pop = 0;
  const std::string* name = nullptr;
};

std::vector<Range> outermost_ranges(const trace::TraceContents& trace) {
  std::map<uint32_t, std::vector<size_t>> open;  // per thread: indices of pushes
  std::vector<Range> result;
  for (size_t i = 0; i < trace.events.size(); ++i) {
    const trace::Event& e = trace.events[i];
    if (e.type == trace::EventType::RangePush) {
      open[e.thread.value].push_back(i);
    } else if (e.type == trace::EventType::RangePop) {
      std::vector<size_t>& stack = open[e.thread.value];
      if (stack.empty()) continue;  // a pop without its push: the trace began inside the range
      size_t push = stack.back();
      stack.pop_back();
      if (stack.empty()) result.push_back(Range{push, i, &trace.string(trace.events[push].name)});
    }
  }
  // A range still open at the end (a trace cut short) ends with the trace.
  for (const auto& [thread, stack] : open) {
    if (!stack.empty()) {
      result.push_back(Range{stack.front(), trace.events.size() - 1, &trace.string(trace.events[stack.front()].name)});
    }
  }
  std::sort(result.begin(), result.end(), [](const Range& a, const Range& b) { return a.push < b.push; });
  return result;
}

bool from_ranges(const trace::TraceContents& trace, FoundIterations& found) {
  std::vector<Range> ranges = outermost_ranges(trace);
  std::vector<const std::string*> names;
  for (const Range& r : ranges) names.push_back(r.name);
  const std::string* name = most_frequent(names);
  if (!name) return false;
  found.method = "nvtx range '" + *name + "'";
  size_t after = 0;  // ranges of other threads may overlap: keep the iterations apart
  for (const Range& r : ranges) {
    if (*r.name != *name || (!found.spans.empty() && r.push <= after)) continue;
    found.spans.push_back(span(trace, r.push, r.pop));
    after = r.pop;
  }
  return true;
}

bool from_markers(const trace::TraceContents& trace, FoundIterations& found) {
  std::vector<const std::string*> names;
  std::vector<size_t> indices;
  for (size_t i = 0; i < trace.events.size(); ++i) {
    if (trace.events[i].type != trace::EventType::Marker) continue;
    names.push_back(&trace.string(trace.events[i].name));
    indices.push_back(i);
  }
  const std::string* name = most_frequent(names);
  if (!name) return false;
  found.method = "marker '" + *name + "'";
  size_t previous = 0;
  bool have_previous = false;
  for (size_t k = 0; k < names.size(); ++k) {
    if (*names[k] != *name) continue;
    if (have_previous) found.spans.push_back(span(trace, previous, indices[k]));
    previous = indices[k];
    have_previous = true;
  }
  return true;
}

// The period that covers the most allocations with whole repeats (the
// smallest such period on a tie), and where its run starts.
struct Period {
  size_t length = 0;
  size_t start = 0;
  size_t repeats = 0;
};

Period best_period(const std::vector<std::pair<uint32_t, uint64_t>>& keys) {
  Period best;
  size_t window = std::min(keys.size(), kPatternWindow);
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
  if (best.repeats < 2) return best;
  // The window may have cut the run short: follow it over every allocation.
  size_t matched = best.repeats * best.length - best.length;  // keys[start + i] == keys[start + i + p]
  size_t i = best.start + matched;
  while (i + best.length < keys.size() && keys[i] == keys[i + best.length]) ++i;
  best.repeats = (i - best.start + best.length) / best.length;
  return best;
}

bool from_pattern(const trace::TraceContents& trace, FoundIterations& found) {
  std::vector<std::pair<uint32_t, uint64_t>> keys;  // (stack, size) of each allocation
  std::vector<size_t> indices;
  for (size_t i = 0; i < trace.events.size(); ++i) {
    const trace::Event& e = trace.events[i];
    if (e.type != trace::EventType::Alloc) continue;
    keys.emplace_back(e.stack.value, e.size);
    indices.push_back(i);
  }
  Period period = best_period(keys);
  if (period.repeats < 2) return false;
  found.method = "repeating pattern";
  // Each iteration runs to the event before the next one's first allocation;
  // the last one as many events as the one before it.
  size_t events_per_iteration = 0;
  for (size_t k = 0; k < period.repeats; ++k) {
    size_t first = indices[period.start + k * period.length];
    size_t last = 0;
    if (k + 1 < period.repeats) {
      last = indices[period.start + (k + 1) * period.length] - 1;
      events_per_iteration = last - first + 1;
    } else {
      last = std::min(first + events_per_iteration - 1, trace.events.size() - 1);
      // Never into the allocations that follow the pattern.
      size_t next = period.start + (k + 1) * period.length;
      if (next < indices.size()) last = std::min(last, indices[next] - 1);
    }
    found.spans.push_back(span(trace, first, last));
  }
  return true;
}

}  // namespace

FoundIterations find_iterations(const trace::TraceContents& trace) {
  FoundIterations found;
  if (trace.events.empty()) return found;
  if (!from_ranges(trace, found) && !from_markers(trace, found)) from_pattern(trace, found);
  return found;
}

}  // namespace vramscope::analysis
