// Growth leaks: call paths whose live bytes climb from one iteration's end
// to the next, the leak that ends in an out-of-memory hours into a job.
#pragma once

#include <cstdint>
#include <map>
#include <tuple>
#include <utility>
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
// 1st iteration may set things up). Fed the tensors in allocation order.
class GrowthFinder {
 public:
  explicit GrowthFinder(const std::vector<IterationSpan>& iterations);
  void observe(const Lifetime& l) {
    if (l.alloc_index > first_end_) move_past(l.alloc_index);
    // Most tensors die before the next iteration's end: no need to search.
    if (l.free_index > first_end_) count(l);
  }
  // By last_live_bytes descending.
  std::vector<GrowthGroup> groups() const;

 private:
  using Key = std::tuple<trace::MemoryKind, uint32_t, uint32_t>;
  // Moves first_ to the first end at or after `alloc_index`.
  void move_past(size_t alloc_index);
  // Adds a tensor live at ends_[first_] to its group.
  void count(const Lifetime& l);
  // Per group, the change of its live bytes at each iteration end: a
  // lifetime counts at ends k with alloc_index <= ends[k] < free_index.
  struct Changes {
    // Bytes made and freed, by end; unsigned, so that sums of sizes no GPU
    // holds (a corrupt trace's) wrap rather than overflow.
    std::vector<std::pair<size_t, uint64_t>> rises;  // tensors come in allocation order
    std::map<size_t, uint64_t> falls;                // none past the last, which nothing reads
  };
  std::vector<size_t> ends_;  // each iteration's last event
  size_t first_ = 0;          // the first end at or after the last allocation seen
  size_t first_end_ = 0;      // ends_[first_]; past them all, a value no free index exceeds
  std::map<Key, Changes> changes_;
  Key last_key_;
  Changes* last_ = nullptr;  // the last group counted: map entries stay where they are
};

}  // namespace vramscope::analysis
