// When each allocation of memory a job runs out of was made and freed, by
// event index: what the category and growth passes reason about. A long run
// makes hundreds of millions of allocations, so the log keeps 16 bytes for
// each and gives them back one by one, in allocation order.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <type_traits>
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
  // Inline: the walk calls it a hundred million times.
  void observe(size_t index, const LiveChange& change) {
    if (change.displaced) close(*change.displaced, index);
    if (change.what == LiveChange::What::Freed) {
      close(change.allocation, index);
    } else if (change.what == LiveChange::What::Allocated) {
      add(index, change.allocation);
    }
  }

  bool has_tensor_blocks() const { return has_blocks_; }
  // The number of tensors for_each_tensor visits.
  uint64_t tensor_count() const { return tensors_[has_blocks_ ? 1 : 0]; }

  // visit(const Lifetime&) for each tensor, in allocation order; a visit
  // that returns false stops there.
  template <typename Visit>
  void for_each_tensor(Visit&& visit) const {
    for_each_where([this](trace::MemoryKind kind) { return is_tensor(kind); }, visit);
  }
  // The same for every allocation, of any kind.
  template <typename Visit>
  void for_each_allocation(Visit&& visit) const {
    for_each_where([](trace::MemoryKind) { return true; }, visit);
  }

 private:
  template <typename Keep, typename Visit>
  void for_each_where(Keep&& keep, Visit&& visit) const {
    size_t alloc_index = 0;
    for (uint64_t first = 0; first < allocations_; first += kChunkRecords) {
      const Record* chunk = chunks_[first >> kChunkShift].get();
      size_t count = std::min<uint64_t>(kChunkRecords, allocations_ - first);
      for (size_t i = 0; i < count; ++i) {
        const Record& r = chunk[i];
        alloc_index = r.size == kWide ? wide(first + i).alloc_index : alloc_index + r.index_step;
        if (!keep(r.kind)) continue;
        // A new one each time, built where the visit wants it (a copy of a
        // struct just written field by field stalls).
        const Lifetime l = lifetime(r, first + i, alloc_index);
        if constexpr (std::is_void_v<decltype(visit(l))>) {
          visit(l);
        } else if (!visit(l)) {
          return;
        }
      }
    }
  }

  // One allocation, by its serial number. A field that does not fit is
  // kWide and its value is kept aside: a free 4 Gi events after its
  // allocation in far_frees_; a size of 4 GiB or more, a step of 64 Ki
  // events or more or a device past 254 (size kWide) in wide_.
  struct Record {
    uint32_t size;
    uint32_t stack;
    uint32_t free_after;  // free index − alloc index; 0 while live
    uint16_t index_step;  // alloc index − the previous allocation's
    trace::MemoryKind kind;
    uint8_t device;
  };
  static_assert(sizeof(Record) == 16);
  struct WideFields {
    size_t alloc_index = 0;
    uint64_t size = 0;
    uint32_t device = 0;
  };
  static constexpr uint32_t kWide = std::numeric_limits<uint32_t>::max();

  // Records sit in chunks that never move: no copy of hundreds of
  // megabytes, and no second copy alive, when a vector would grow.
  static constexpr int kChunkShift = 16;
  static constexpr uint64_t kChunkRecords = uint64_t{1} << kChunkShift;
  static constexpr uint64_t kChunkMask = kChunkRecords - 1;
  Record& record(uint64_t serial) { return chunks_[serial >> kChunkShift][serial & kChunkMask]; }

  static bool is_tracked(trace::MemoryKind kind) {
    return trace::occupies_device_memory(kind) || kind == trace::MemoryKind::Block;
  }
  bool is_tensor(trace::MemoryKind kind) const {
    return is_tracked(kind) && (kind == trace::MemoryKind::Block) == has_blocks_;
  }

  void add(size_t index, const Allocation& a) {
    if (a.kind == trace::MemoryKind::Block) has_blocks_ = true;
    if (is_tracked(a.kind)) ++tensors_[a.kind == trace::MemoryKind::Block ? 1 : 0];
    if ((allocations_ & kChunkMask) == 0) add_chunk();
    Record& r = record(allocations_);
    size_t step = index - last_alloc_index_;
    if (a.size < kWide && step < std::numeric_limits<uint16_t>::max() && a.device < 0xff) {
      r.size = static_cast<uint32_t>(a.size);
      r.index_step = static_cast<uint16_t>(step);
      r.device = static_cast<uint8_t>(a.device);
    } else {
      add_wide(index, a);
    }
    r.stack = a.stack.value;
    r.free_after = 0;
    r.kind = a.kind;
    last_alloc_index_ = index;
    ++allocations_;
  }
  void close(const Allocation& allocation, size_t index) {
    if (allocation.serial >= allocations_) return;
    uint64_t after = index - allocation.event_index;
    if (after < kWide) {
      record(allocation.serial).free_after = static_cast<uint32_t>(after);
    } else {
      close_far(allocation.serial, index);
    }
  }
  Lifetime lifetime(const Record& r, uint64_t serial, size_t alloc_index) const {
    Lifetime l;
    l.alloc_index = alloc_index;
    l.free_index = r.free_after == 0 ? kNeverFreed : alloc_index + r.free_after;
    if (r.free_after == kWide) [[unlikely]]
      l.free_index = far_frees_.at(serial);
    l.kind = r.kind;
    l.device = r.device;
    l.size = r.size;
    if (r.size == kWide) [[unlikely]] {
      l.size = wide(serial).size;
      l.device = wide(serial).device;
    }
    l.stack = trace::StackId{r.stack};
    return l;
  }

  void add_chunk();
  void add_wide(size_t index, const Allocation& a);
  void close_far(uint64_t serial, size_t index);
  const WideFields& wide(uint64_t serial) const;

  std::vector<std::unique_ptr<Record[]>> chunks_;
  uint64_t allocations_ = 0;
  std::unordered_map<uint64_t, WideFields> wide_;   // by serial
  std::unordered_map<uint64_t, size_t> far_frees_;  // by serial: the free index
  size_t last_alloc_index_ = 0;
  uint64_t tensors_[2] = {0, 0};  // tracked allocations that are not blocks, and blocks
  bool has_blocks_ = false;
};

}  // namespace vramscope::analysis
