// Growth leaks: call paths whose live bytes climb from one iteration's end
// to the next, the leak that ends in an out-of-memory hours into a job.
#pragma once

#include <cstdint>
#include <vector>

#include "analyzer/iterations.h"
#include "analyzer/lifetimes.h"

namespace vramscope::analysis {

struct GrowthGroup {
  trace::MemoryKind kind = trace::MemoryKind::Device;
  uint32_t device = 0;
  trace::StackId stack;
  uint64_t bytes_per_iteration = 0;  // average climb from the 2nd iteration's end to the last's
  uint64_t iterations = 0;           // iteration ends looked at
  uint64_t last_live_bytes = 0;      // live at the last iteration's end
};

// With at least 3 iterations: the groups (kind, device, whole stack) whose
// live bytes at the iteration ends rise strictly from the 2nd end on (the
// 1st iteration may set things up). By last_live_bytes descending.
std::vector<GrowthGroup> find_growth(const std::vector<Lifetime>& lifetimes,
                                     const std::vector<IterationSpan>& iterations);

}  // namespace vramscope::analysis
