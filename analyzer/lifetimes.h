// When each allocation of memory a job runs out of was made and freed, by
// event index: what the category and growth passes reason about. A long run
// makes hundreds of millions of allocations, so the log keeps 16 bytes for
// each and gives them back one by one, in allocation order.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "analyzer/live_memory.h"
#include "analyzer/per_stack.h"
#include "formats/populated_memory.h"
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
  [[gnu::always_inline]] void observe(size_t index, const LiveChange& change) {
    if (change.displaced) close(*change.displaced, index);
    if (change.what == LiveChange::What::Freed) {
      close(change.allocation, index);
    } else if (change.what == LiveChange::What::Allocated) {
      add(index, change.allocation);
    }
  }

  // observe() for an allocation that displaced none, and for a free.
  [[gnu::always_inline]] void allocated(size_t index, const Allocation& a) { add(index, a); }
  [[gnu::always_inline]] void freed(size_t index, const Allocation& a) { close(a, index); }

  // The event index of the last allocation made on `stack`, of any kind; 0 if none.
  size_t last_allocation(trace::StackId stack) const { return last_by_stack_.get(stack); }

  bool has_tensor_blocks() const { return kind_allocations_[kBlock] != 0; }
  // The number of tensors for_each_tensor visits.
  uint64_t tensor_count() const {
    uint64_t count = 0;
    for (size_t kind = 0; kind < kind_allocations_.size(); ++kind) {
      if (is_tensor(static_cast<trace::MemoryKind>(kind))) count += kind_allocations_[kind];
    }
    return count;
  }

  // visit(const Lifetime&) for each tensor, in allocation order; a visit
  // that returns false stops there.
  template <typename Visit>
  [[gnu::always_inline]] void for_each_tensor(Visit&& visit) const {
    for_each_where(tensor_kinds(), visit);
  }
  // The same for every allocation, of any kind.
  template <typename Visit>
  [[gnu::always_inline]] void for_each_allocation(Visit&& visit) const {
    for_each_where(~KindSet{0}, visit);
  }

 private:
  // Kinds as bits; bit 63 stands for it and every kind past it, none a tensor.
  using KindSet = uint64_t;
  static bool in(KindSet kinds, trace::MemoryKind kind) {
    return (kinds >> std::min(static_cast<unsigned>(kind), 63u)) & 1;
  }
  KindSet tensor_kinds() const {
    KindSet kinds = 0;
    for (unsigned k = 0; k < 64; ++k) kinds |= KindSet{is_tensor(static_cast<trace::MemoryKind>(k))} << k;
    return kinds;
  }

  // Inlined into each caller, whose visit state then stays in registers.
  template <typename Visit>
  [[gnu::always_inline]] void for_each_where(KindSet keep, Visit&& visit) const {
    size_t alloc_index = 0;
    for (uint64_t first = 0; first < allocations_; first += kChunkRecords) {
      const Record* chunk = chunks_[first >> kChunkShift].get();
      size_t count = std::min<uint64_t>(kChunkRecords, allocations_ - first);
      for (size_t i = 0; i < count; ++i) {
        const Record& r = chunk[i];
        // A new one each time, built where the visit wants it (a copy of a
        // struct just written field by field stalls).
        const Lifetime l = read(r, first + i, alloc_index);
        alloc_index = l.alloc_index;
        if (!in(keep, r.kind)) continue;
        if constexpr (std::is_void_v<decltype(visit(l))>) {
          visit(l);
        } else if (!visit(l)) {
          return;
        }
      }
    }
  }

  // One allocation, by its serial number. One whose fields do not all fit
  // (a size of 4 GiB or more, a step of 64 Ki events or more, a device past
  // 254, a free 4 Gi events after it) has device kWideDevice and its fields
  // kept aside in wide_: one test tells the rare records from the others.
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
    bool has_index = false;  // else the record's step gives the alloc index
    size_t alloc_index = 0;
    uint64_t size = 0;
    uint32_t device = 0;
    uint64_t free_after = 0;  // 0 while live
  };
  static constexpr uint8_t kWideDevice = 0xff;

  // Records sit in chunks that never move: no copy of hundreds of
  // megabytes, and no second copy alive, when a vector would grow. Their
  // pages are had with the chunk, not a fault at a time.
  static constexpr int kChunkShift = 16;
  static constexpr uint64_t kChunkRecords = uint64_t{1} << kChunkShift;
  static constexpr uint64_t kChunkMask = kChunkRecords - 1;
  Record& record(uint64_t serial) { return chunks_[serial >> kChunkShift][serial & kChunkMask]; }

  static constexpr size_t kBlock = static_cast<size_t>(trace::MemoryKind::Block);
  static bool is_tracked(trace::MemoryKind kind) {
    return trace::occupies_device_memory(kind) || kind == trace::MemoryKind::Block;
  }
  bool is_tensor(trace::MemoryKind kind) const {
    return is_tracked(kind) && (kind == trace::MemoryKind::Block) == has_tensor_blocks();
  }

  [[gnu::always_inline]] void add(size_t index, const Allocation& a) {
    ++kind_allocations_[static_cast<uint8_t>(a.kind)];
    if (next_ == chunk_end_) add_chunk();
    Record& r = *next_++;
    size_t step = index - last_alloc_index_;
    r.size = static_cast<uint32_t>(a.size);
    r.stack = a.stack.value;
    r.free_after = 0;
    r.index_step = static_cast<uint16_t>(step);
    r.kind = a.kind;
    r.device = static_cast<uint8_t>(a.device);
    if (((a.size >> 32) | (step >> 16) | ((static_cast<uint64_t>(a.device) + 1) >> 8)) != 0) [[unlikely]]
      add_wide(r, index, a);
    last_alloc_index_ = index;
    last_by_stack_[a.stack] = index;
    ++allocations_;
  }
  [[gnu::always_inline]] void close(const Allocation& allocation, size_t index) {
    if (allocation.serial >= allocations_) return;
    uint64_t after = index - allocation.event_index;
    Record& r = record(allocation.serial);
    if ((after >> 32) == 0 && r.device != kWideDevice) [[likely]] {
      r.free_after = static_cast<uint32_t>(after);
    } else {
      close_wide(r, allocation.serial, after);
    }
  }

  // The lifetime of `r`, the record of `serial`, made after the allocation at `previous`.
  [[gnu::always_inline]] Lifetime read(const Record& r, uint64_t serial, size_t previous) const {
    if (r.device == kWideDevice) [[unlikely]]
      return wide_lifetime(r, serial, previous);
    return lifetime_of(r, previous + r.index_step, r.free_after, r.device, r.size);
  }
  // `r`'s kind and stack with the other fields as given, from the record or kept aside.
  [[gnu::always_inline]] static Lifetime lifetime_of(const Record& r, size_t alloc_index, uint64_t free_after,
                                                     uint32_t device, uint64_t size) {
    Lifetime l;
    l.alloc_index = alloc_index;
    l.free_index = free_after == 0 ? kNeverFreed : alloc_index + free_after;
    l.kind = r.kind;
    l.device = device;
    l.size = size;
    l.stack = trace::StackId{r.stack};
    return l;
  }

  void add_chunk();
  void add_wide(Record& r, size_t index, const Allocation& a);
  void close_wide(Record& r, uint64_t serial, uint64_t after);
  // A record with a field kept aside: `r`, the record of `serial`, made
  // after the allocation at `previous`.
  Lifetime wide_lifetime(const Record& r, uint64_t serial, size_t previous) const;

  std::vector<PopulatedArray<Record>> chunks_;
  Record* next_ = nullptr;  // where the next record goes, in the last chunk
  Record* chunk_end_ = nullptr;
  uint64_t allocations_ = 0;
  std::unordered_map<uint64_t, WideFields> wide_;  // by serial
  size_t last_alloc_index_ = 0;
  PerStack<size_t> last_by_stack_;                // each call path's last allocation
  std::array<uint64_t, 256> kind_allocations_{};  // allocations per kind, any byte a trace holds
};

}  // namespace vramscope::analysis
