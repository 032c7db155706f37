// When each allocation of memory a job runs out of was made and freed, by
// event index: what the category and growth passes reason about. A long run
// makes hundreds of millions of allocations, so the log keeps them packed
// (a few bytes each) and gives them back one by one, in allocation order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <unordered_map>
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

// Records every allocation; its tensors are device-memory allocations and
// tensor blocks. With tensor blocks in the trace only they are tensors: the
// segments around them are the allocator's, and telling them apart by
// lifetime would say nothing.
class LifetimeLog {
 public:
  // Call after `live` has applied the event at `index`, for every event.
  void observe(size_t index, const LiveChange& change);

  bool has_tensor_blocks() const { return has_blocks_; }
  // The number of tensors for_each_tensor visits.
  uint64_t tensor_count() const;

  // visit(const Lifetime&) for each tensor, in allocation order.
  template <typename Visit>
  void for_each_tensor(Visit&& visit) const {
    Reader reader(*this);
    Lifetime l;
    while (reader.next(l)) {
      if (is_tensor(l.kind)) visit(l);
    }
  }

 private:
  // Bytes appended in blocks that never move: no copy of hundreds of
  // megabytes, and no second copy alive, when a vector would grow.
  class BlockBytes {
   public:
    static constexpr size_t kBlockBytes = 1 << 20;
    static constexpr size_t kMaxRecordBytes = 48;  // a record never spans two blocks
    uint8_t* reserve_record();                     // where the next record goes
    void commit(uint8_t* end) { used_ = static_cast<size_t>(end - blocks_.back().get()); }
    size_t blocks() const { return blocks_.size(); }
    const uint8_t* block(size_t i) const { return blocks_[i].get(); }
    size_t block_used(size_t i) const { return i + 1 == blocks_.size() ? used_ : used_of_[i]; }

   private:
    std::vector<std::unique_ptr<uint8_t[]>> blocks_;
    std::vector<size_t> used_of_;  // bytes used in each full block
    size_t used_ = 0;              // in the last block
  };

  class Reader {
   public:
    explicit Reader(const LifetimeLog& log) : log_(log) {}
    bool next(Lifetime& l);

   private:
    const LifetimeLog& log_;
    size_t block_ = 0;
    const uint8_t* p_ = nullptr;
    const uint8_t* end_ = nullptr;
    uint64_t serial_ = 0;
    size_t alloc_index_ = 0;
  };

  static bool is_tracked(trace::MemoryKind kind) {
    return trace::occupies_device_memory(kind) || kind == trace::MemoryKind::Block;
  }
  bool is_tensor(trace::MemoryKind kind) const {
    return is_tracked(kind) && (kind == trace::MemoryKind::Block) == has_blocks_;
  }
  void close(const Allocation& allocation, size_t index);
  uint32_t& free_after(uint64_t serial) { return free_after_[serial >> kFreeShift][serial & kFreeMask]; }
  uint32_t free_after(uint64_t serial) const { return free_after_[serial >> kFreeShift][serial & kFreeMask]; }

  // Per allocation (its serial number): the alloc index's step from the
  // previous one, size, stack, kind and device as varints.
  BlockBytes packed_;
  // Per allocation: free index − alloc index; 0 while live. kFar: in far_frees_.
  static constexpr int kFreeShift = 16;
  static constexpr uint64_t kFreeMask = (uint64_t{1} << kFreeShift) - 1;
  std::vector<std::unique_ptr<uint32_t[]>> free_after_;
  uint64_t allocations_ = 0;
  static constexpr uint32_t kFar = std::numeric_limits<uint32_t>::max();
  std::unordered_map<uint64_t, size_t> far_frees_;
  size_t last_alloc_index_ = 0;
  uint64_t tensors_[2] = {0, 0};  // tracked allocations that are not blocks, and blocks
  bool has_blocks_ = false;
};

}  // namespace vramscope::analysis
