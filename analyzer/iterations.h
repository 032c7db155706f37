// Finds the training iterations of a trace: from NVTX ranges, from markers,
// or from the repeating pattern of its allocations.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
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

// In that order of trust: the most frequent outermost NVTX range name (at
// least 2 ranges), the most frequent marker name (at least 2 markers: each
// pair of neighbours bounds an iteration), else the repeating pattern of the
// allocations (see docs/report.md). Deterministic: ties go to the name seen first.
FoundIterations find_iterations(const trace::TraceContents& trace);

}  // namespace vramscope::analysis
