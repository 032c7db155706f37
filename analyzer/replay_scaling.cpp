#include "analyzer/replay_scaling.h"

#include <cmath>
#include <unordered_map>

#include "analyzer/categories.h"
#include "analyzer/iterations.h"
#include "analyzer/lifetimes.h"
#include "analyzer/live_memory.h"
#include "analyzer/stack_resolver.h"
#include "analyzer/symbolizer.h"

namespace vramscope::analysis {

ScaledBatch scale_activations(const trace::TraceContents& trace, const ReplayInput& input, double factor) {
  // The categories as the report finds them: lifetimes against iterations.
  LifetimeLog lifetimes;
  IterationFinder iterations;
  LiveMemory live;
  walk_with_live_set(trace.events, live, [&](size_t i, const trace::Event& event, const LiveChange& change) {
    lifetimes.observe(i, change);
    iterations.observe(i, event);
    return true;
  });
  const FoundIterations found = iterations.finish(trace);
  Symbolizer symbolizer(trace.modules);
  StackResolver stacks(trace, symbolizer);
  std::unordered_map<size_t, Category> category_of;  // by allocation event
  if (lifetimes.tensor_count() != 0) {
    categorize(
        lifetimes, found.spans, [&](trace::StackId stack) { return site_and_callers(stacks.resolve(stack)); },
        [&](std::span<const CategorizedTensor> tensors) {
          for (const CategorizedTensor& t : tensors) {
            if (t.verdict.category == Category::Activations)
              category_of[t.tensor.alloc_index] = Category::Activations;
          }
        });
  }
  ScaledBatch scaled;
  scaled.input = input;
  scaled.iterations_method = found.method;
  for (ReplayRequest& r : scaled.input.requests) {
    if (!r.alloc || r.id >= input.alloc_events.size()) continue;
    auto it = category_of.find(input.alloc_events[r.id]);
    if (it == category_of.end()) continue;
    const double bytes = std::ceil(static_cast<double>(r.size) * factor / 512.0) * 512.0;
    scaled.scaled += 1;
    scaled.bytes_before += r.size;
    r.size = bytes >= 1.8e19 ? UINT64_MAX / 2 : static_cast<uint64_t>(bytes);
    scaled.bytes_after += r.size;
  }
  return scaled;
}

}  // namespace vramscope::analysis
