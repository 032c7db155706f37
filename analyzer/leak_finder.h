// Groups what is still live at the end of the trace by kind, device and
// whole call stack, so two paths to the same site stay apart; and says which
// of it is a leak.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "analyzer/live_memory.h"
#include "formats/trace_events.h"

namespace vramscope::analysis {

// What of the memory live at the end counts as leaked (the report's
// headline). GPU memory, managed memory and pinned host memory do
// (counts_as_leaked_memory), except an allocator's cache: a framework's
// caching allocator keeps its segments to the end (PyTorch never gives them
// back), so a device segment with a live allocator heap in it is the
// allocator's, and the tensor blocks live in it count instead. A segment
// with no heap (memory the job or a library took from the driver itself)
// counts as ever. Segments addressed by a handle (`cuMemCreate`) are never
// taken as cached: the trace does not say where they are mapped.
class LeakRule {
 public:
  explicit LeakRule(const LiveMemory& live);
  bool counts(const Allocation& a) const;
  // A segment an allocator keeps as its cache.
  bool cached(const Allocation& a) const;

 private:
  bool in_cached_segment(const Allocation& a) const;
  // By device: the cached segments, start → size.
  std::map<uint32_t, std::map<uint64_t, uint64_t>> cached_;
};

struct LiveGroup {
  trace::MemoryKind kind = trace::MemoryKind::Device;
  uint32_t device = 0;
  trace::StackId stack;
  bool counted = false;  // in the headline (LeakRule::counts)
  bool cached = false;   // an allocator's cache (LeakRule::cached)
  uint64_t bytes = 0;
  uint64_t count = 0;
};

// The groups that count first, then the others; each by bytes descending,
// ties by count descending, then kind, device, stack id, so that the order
// never depends on hashing.
std::vector<LiveGroup> group_live_allocations(const LiveMemory& live);

}  // namespace vramscope::analysis
