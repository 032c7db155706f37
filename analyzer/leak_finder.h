// Groups what is still live at the end of the trace by kind, device and
// whole call stack, so two paths to the same site stay apart.
#pragma once

#include <cstdint>
#include <vector>

#include "analyzer/live_memory.h"
#include "formats/trace_events.h"

namespace vramscope::analysis {

struct LiveGroup {
  trace::MemoryKind kind = trace::MemoryKind::Device;
  uint32_t device = 0;
  trace::StackId stack;
  uint64_t bytes = 0;
  uint64_t count = 0;
};

// By bytes descending; ties by count descending, then kind, device, stack id,
// so that the order never depends on hashing.
std::vector<LiveGroup> group_live_allocations(const LiveMemory& live);

}  // namespace vramscope::analysis
