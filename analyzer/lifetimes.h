// When each allocation of memory a job runs out of was made and freed, by
// event index: what the category and growth passes reason about.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <tuple>
#include <vector>

#include "analyzer/live_memory.h"
#include "formats/trace_events.h"

namespace vramscope::analysis {

inline constexpr size_t kNeverFreed = std::numeric_limits<size_t>::max();

struct Lifetime {
  size_t alloc_index = 0;
  size_t free_index = kNeverFreed;  // the event that freed it
  trace::MemoryKind kind = trace::MemoryKind::Device;
  uint32_t device = 0;
  uint64_t size = 0;
  trace::StackId stack;
};

// Records device-memory allocations and tensor blocks. With tensor blocks in
// the trace only they are tensors: the segments around them are the
// allocator's, and telling them apart by lifetime would say nothing.
class LifetimeLog {
 public:
  // Call after `live` has applied the event at `index`.
  void observe(size_t index, const LiveChange& change);

  bool has_tensor_blocks() const { return has_blocks_; }
  // The lifetimes of the kinds that are tensors (see above), in allocation order.
  std::vector<Lifetime> tensors() const;

 private:
  using Key = std::tuple<trace::MemoryKind, uint32_t, uint64_t>;
  void close(const Allocation& allocation, size_t index);

  std::vector<Lifetime> lifetimes_;
  std::map<Key, size_t> open_;  // live allocation → its lifetime
  bool has_blocks_ = false;
};

}  // namespace vramscope::analysis
