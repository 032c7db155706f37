// When each allocation of memory a job runs out of was made and freed, by
// event index: what the category and growth passes reason about. A long run
// makes hundreds of millions of allocations, so the log keeps a few bytes for
// each (5 to 7 in a training loop, where 16 would cost the analysis a second
// for every 50 million: memory a process has not used before is slow to get
// in a virtual machine) and gives them back one by one, in allocation order.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <type_traits>
#include <utility>
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
  size_t last_allocation(trace::StackId stack) const { return last_by_stack_.get(stack).index; }

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

  // An allocation is a record in a byte stream and its free a 16-bit word
  // in an array by serial number. A record is a head byte and what it does
  // not say, as varints, in this order:
  //   bits 0-3  the step from the previous allocation's event index, 1 to 15;
  //             0: the step follows
  //   bit 4     the stack is the previous record's; else it follows
  //   bit 5     the size is the last one made on this stack; else it follows
  //   bit 6     the size that follows is in units of 512 bytes
  //   bit 7     the kind (a byte) and the device follow; else the previous record's
  // A free word is 0 while live, else the free's index less the allocation's;
  // kFarFree: that distance is kept aside, in far_frees_.
  static constexpr uint8_t kStepBits = 0x0f;
  static constexpr uint8_t kSameStack = 0x10;
  static constexpr uint8_t kSameSize = 0x20;
  static constexpr uint8_t kSizeUnits = 0x40;
  static constexpr uint8_t kKindDevice = 0x80;
  static constexpr int kSizeUnitShift = 9;
  static constexpr size_t kMaxRecordBytes = 1 + 10 + 5 + 10 + 1 + 5;
  static constexpr uint16_t kFarFree = UINT16_MAX;

  // What the records before a record say its fields are like, the same
  // for the writer and the reader.
  struct Previous {
    size_t alloc_index = 0;
    uint32_t stack = 0;
    trace::MemoryKind kind = trace::MemoryKind::Device;
    uint32_t device = 0;
  };
  struct StackLast {
    size_t index = 0;   // the last allocation's event index, 0 if none
    uint64_t size = 0;  // and its size
  };

  // Records and free words sit in chunks that never move: no copy of
  // hundreds of megabytes, and no second copy alive, when a vector would
  // grow. Their pages are had with the chunk, not a fault at a time.
  static constexpr size_t kChunkBytes = size_t{1} << 20;
  struct RecordChunk {
    PopulatedArray<uint8_t> bytes;
    size_t used = 0;  // bytes written, once the next chunk is begun
  };
  static constexpr int kFreeChunkShift = 19;  // 1 MiB of words
  static constexpr uint64_t kFreeChunkMask = (uint64_t{1} << kFreeChunkShift) - 1;

  static constexpr size_t kBlock = static_cast<size_t>(trace::MemoryKind::Block);
  static bool is_tracked(trace::MemoryKind kind) {
    return trace::occupies_device_memory(kind) || kind == trace::MemoryKind::Block;
  }
  bool is_tensor(trace::MemoryKind kind) const {
    return is_tracked(kind) && (kind == trace::MemoryKind::Block) == has_tensor_blocks();
  }

  [[gnu::always_inline]] static uint8_t* put(uint8_t* p, uint64_t v) {
    while (v >= 0x80) {
      *p++ = static_cast<uint8_t>(v | 0x80);
      v >>= 7;
    }
    *p++ = static_cast<uint8_t>(v);
    return p;
  }
  [[gnu::always_inline]] static const uint8_t* get(const uint8_t* p, uint64_t& v) {
    v = *p & 0x7f;
    for (int shift = 7; *p++ & 0x80; shift += 7) v |= uint64_t{static_cast<uint8_t>(*p & 0x7f)} << shift;
    return p;
  }

  [[gnu::always_inline]] void add(size_t index, const Allocation& a) {
    ++kind_allocations_[static_cast<uint8_t>(a.kind)];
    if (static_cast<size_t>(chunk_end_ - next_) < kMaxRecordBytes) [[unlikely]]  // no chunk yet: both null
      add_chunk();
    if ((allocations_ & kFreeChunkMask) == 0) [[unlikely]]
      free_chunks_.push_back(make_populated<uint16_t>(kFreeChunkMask + 1));
    uint8_t* head = next_;
    uint8_t* p = head + 1;
    const size_t step = index - previous_.alloc_index;
    uint8_t h = step <= kStepBits ? static_cast<uint8_t>(step) : 0;
    if (h == 0) p = put(p, step);
    if (a.stack.value == previous_.stack) {
      h |= kSameStack;
    } else {
      p = put(p, a.stack.value);
    }
    StackLast& last = last_by_stack_[a.stack];
    if (a.size == last.size && last.index != 0) {
      h |= kSameSize;
    } else if ((a.size & ((uint64_t{1} << kSizeUnitShift) - 1)) == 0) {
      h |= kSizeUnits;
      p = put(p, a.size >> kSizeUnitShift);
    } else {
      p = put(p, a.size);
    }
    if (a.kind != previous_.kind || a.device != previous_.device) {
      h |= kKindDevice;
      *p++ = static_cast<uint8_t>(a.kind);
      p = put(p, a.device);
    }
    *head = h;
    next_ = p;
    previous_ = Previous{index, a.stack.value, a.kind, a.device};
    // An allocation at index 0 reads as none made on the stack: its size
    // is then written out again by the next, which is all that costs.
    last = StackLast{index, a.size};
    ++allocations_;
  }
  [[gnu::always_inline]] void close(const Allocation& allocation, size_t index) {
    if (allocation.serial >= allocations_) return;
    const uint64_t after = index - allocation.event_index;
    uint16_t& word = free_chunks_[allocation.serial >> kFreeChunkShift][allocation.serial & kFreeChunkMask];
    if (after < kFarFree) [[likely]] {
      word = static_cast<uint16_t>(after);
    } else {
      word = kFarFree;
      far_frees_.emplace_back(allocation.serial, after);
    }
  }

  // Inlined into each caller, whose visit state then stays in registers.
  template <typename Visit>
  [[gnu::always_inline]] void for_each_where(KindSet keep, Visit&& visit) const {
    sort_far_frees();
    auto far = far_frees_.begin();
    PerStack<uint64_t> sizes;  // the last size made on each stack
    Previous previous;
    uint64_t serial = 0;
    for (const RecordChunk& chunk : chunks_) {
      const uint8_t* p = chunk.bytes.get();
      const uint8_t* end = &chunk == &chunks_.back() ? next_ : p + chunk.used;
      while (p < end) {
        const uint8_t h = *p++;
        uint64_t step = h & kStepBits;
        if (step == 0) p = get(p, step);
        uint64_t stack = previous.stack;
        if (!(h & kSameStack)) p = get(p, stack);
        uint64_t& last_size = sizes[trace::StackId{static_cast<uint32_t>(stack)}];
        uint64_t size = last_size;
        if (!(h & kSameSize)) {
          p = get(p, size);
          if (h & kSizeUnits) size <<= kSizeUnitShift;
          last_size = size;
        }
        if (h & kKindDevice) {
          previous.kind = static_cast<trace::MemoryKind>(*p++);
          uint64_t device;
          p = get(p, device);
          previous.device = static_cast<uint32_t>(device);
        }
        previous.alloc_index += step;
        previous.stack = static_cast<uint32_t>(stack);
        const uint16_t word = free_chunks_[serial >> kFreeChunkShift][serial & kFreeChunkMask];
        uint64_t after = word;
        if (word == kFarFree) [[unlikely]] {
          while (far->first != serial) ++far;
          after = far->second;
        }
        ++serial;
        if (!in(keep, previous.kind)) continue;
        // A new one each time, built where the visit wants it (a copy of a
        // struct just written field by field stalls).
        const Lifetime l{previous.alloc_index,
                         after == 0 ? kNeverFreed : previous.alloc_index + after,
                         previous.kind,
                         previous.device,
                         size,
                         trace::StackId{previous.stack}};
        if constexpr (std::is_void_v<decltype(visit(l))>) {
          visit(l);
        } else if (!visit(l)) {
          return;
        }
      }
    }
  }

  void add_chunk();
  // Frees far from their allocations come in the order of the frees; a
  // reader wants them in the order of the allocations.
  void sort_far_frees() const;

  std::vector<RecordChunk> chunks_;
  uint8_t* next_ = nullptr;  // where the next record goes, in the last chunk
  uint8_t* chunk_end_ = nullptr;
  std::vector<PopulatedArray<uint16_t>> free_chunks_;
  uint64_t allocations_ = 0;
  Previous previous_;
  // (serial, distance) of each free 64 Ki events or more after its allocation.
  mutable std::vector<std::pair<uint64_t, uint64_t>> far_frees_;
  mutable size_t far_frees_sorted_ = 0;           // how many of far_frees_ are in order
  PerStack<StackLast> last_by_stack_;             // each call path's last allocation
  std::array<uint64_t, 256> kind_allocations_{};  // allocations per kind, any byte a trace holds
};

}  // namespace vramscope::analysis
