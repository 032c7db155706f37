// The live allocations, and what the analyzer knows of each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

#include "formats/flat_table.h"
#include "formats/huge_page_allocator.h"
#include "formats/trace_events.h"

namespace vramscope::analysis {

struct Allocation {
  trace::MemoryKind kind = trace::MemoryKind::Device;
  uint32_t device = 0;
  uint64_t address = 0;  // the cuMemCreate handle for VirtualPhysical
  uint64_t size = 0;
  uint64_t time_ns = 0;
  trace::StackId stack;
  trace::ThreadIndex thread;
  uint64_t serial = 0;       // allocations before it in the walk
  uint64_t event_index = 0;  // the event that made it
};
static_assert(sizeof(Allocation) == 56);

// The live allocations, found by address space and address (see
// trace::AddressSpace): a free finds its allocation whatever kind and device
// its own record says.
//
// A hash table of 16-byte slots (the key and the index of the allocation's
// record) beside an array of records: a probe reads four slots per cache
// line, an erase shifts 16 bytes rather than a whole record, and the records
// of freed allocations are reused last-freed-first, so the many short-lived
// allocations of a training step keep reusing a few records that stay in
// the cache. Open addressing, linear probing, backward-shift deletion, at
// most a quarter full: most lookups end at their first slot, so the branch
// that ends a probe is rarely mispredicted (a walk does one per Alloc and
// Free). for_each visits the allocations in the order of their slots, an
// order no report depends on.
class AllocationTable {
 public:
  // The live allocation with this key, or nullptr. The pointer is valid
  // until the next insert or erase.
  Allocation* find(trace::MemoryKind kind, uint64_t address) {
    size_t i = slot_of(trace::address_space(kind), address, hash(kind, address));
    return i == kNone ? nullptr : &record_at(slots_[i].record);
  }

  // Starts loading the slot a lookup of this key begins at: a table of
  // millions of allocations misses the cache on nearly every lookup, and a
  // walk over events knows its keys a few events ahead.
  void prefetch(trace::MemoryKind kind, uint64_t address) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[hash(kind, address) & mask_]);
  }

  // Inserts `allocation`, or returns the one already live at its key
  // (second: false) and leaves it unchanged.
  std::pair<Allocation*, bool> insert(const Allocation& allocation) {
    if (size_ >= grow_at_) grow();  // before the lookup, as FlatTable
    const trace::AddressSpace space = trace::address_space(allocation.kind);
    const size_t h = hash(space, allocation.address);
    const uint32_t tag = tag_of(space, h);
    const size_t mask = mask_;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      Slot& slot = slots_[i];
      if (slot.record == kEmpty) {
        uint32_t record = new_record(allocation);
        slot = Slot{allocation.address, record, tag};
        ++size_;
        return {&record_at(record), true};
      }
      if (slot.address == allocation.address && slot.tag == tag) return {&record_at(slot.record), false};
    }
  }

  // `allocation` must come from find() or insert().
  void erase(Allocation* allocation) {
    empty_slot(slot_of(trace::address_space(allocation->kind), allocation->address,
                       hash(allocation->kind, allocation->address)));
  }

  // Erases the live allocation with this key and copies it to `taken`;
  // false if none is live there. A free's whole work, with one lookup.
  bool take(trace::MemoryKind kind, uint64_t address, Allocation& taken) {
    size_t i = slot_of(trace::address_space(kind), address, hash(kind, address));
    if (i == kNone) return false;
    taken = record_at(slots_[i].record);
    empty_slot(i);
    return true;
  }

  size_t size() const { return size_; }
  size_t slot_count() const { return slots_.size(); }

  // In the order of the slots. The records are loaded a few live
  // allocations ahead: they are read here in no order of their own.
  template <typename Visit>
  void for_each(Visit&& visit) const {
    constexpr size_t kAhead = 16;  // slots: about 8 records
    const size_t n = slots_.size();
    for (size_t i = 0; i < n; ++i) {
      if (i + kAhead < n && slots_[i + kAhead].record != kEmpty) {
        __builtin_prefetch(&record_at(slots_[i + kAhead].record));
      }
      if (slots_[i].record != kEmpty) visit(record_at(slots_[i].record));
    }
  }

 private:
  static constexpr uint32_t kEmpty = 0;  // record 0 is made with the first slots and never used
  static constexpr size_t kNone = SIZE_MAX;
  static constexpr uint32_t kNoRecord = UINT32_MAX;
  // The key's space and the low 24 bits of its hash: equal keys have equal
  // tags, and a table of up to 2^24 slots finds a key's home slot without
  // hashing it again.
  static constexpr size_t kTagHashMask = (size_t{1} << 24) - 1;
  struct alignas(16) Slot {
    uint64_t address = 0;
    uint32_t record = kEmpty;  // the index of the allocation's record
    uint32_t tag = 0;
  };
  static_assert(sizeof(Slot) == 16);

  static size_t hash(trace::AddressSpace space, uint64_t address) {
    return trace::AddressKey{space, address}.hash();
  }
  static size_t hash(trace::MemoryKind kind, uint64_t address) {
    return hash(trace::address_space(kind), address);
  }
  static uint32_t tag_of(trace::AddressSpace space, size_t hash) {
    return static_cast<uint32_t>(hash) << 8 | static_cast<uint32_t>(space);
  }
  // The slot a lookup of this slot's key begins at.
  static size_t home(const Slot& slot, size_t mask) {
    if (mask <= kTagHashMask) return (slot.tag >> 8) & mask;
    return hash(static_cast<trace::AddressSpace>(slot.tag & 0xff), slot.address) & mask;
  }

  // The slot of the live allocation with this key, or kNone.
  size_t slot_of(trace::AddressSpace space, uint64_t address, size_t h) const {
    if (size_ == 0) return kNone;
    const uint32_t tag = tag_of(space, h);
    const size_t mask = mask_;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      const Slot& slot = slots_[i];
      if (slot.record == kEmpty) return kNone;
      if (slot.address == address && slot.tag == tag) return i;
    }
  }

  // Frees the slot's record and empties the slot, pulling back every later
  // slot of the run whose key may live in the hole, so that a lookup never
  // stops early at an empty slot.
  void empty_slot(size_t hole) {
    free_record(slots_[hole].record);
    const size_t mask = mask_;
    for (size_t next = (hole + 1) & mask; slots_[next].record != kEmpty; next = (next + 1) & mask) {
      size_t wanted = home(slots_[next], mask);
      if (stays_behind_hole(hole, wanted, next)) continue;
      slots_[hole] = slots_[next];
      hole = next;
    }
    slots_[hole] = Slot{};
    --size_;
  }

  // Freed records form a stack threaded through the records themselves
  // (in `serial`, which a live record alone needs): the last freed, still in
  // the cache, is the next reused.
  uint32_t new_record(const Allocation& allocation) {
    uint32_t record = free_top_;
    if (record != kNoRecord) {
      free_top_ = static_cast<uint32_t>(record_at(record).serial);
      record_at(record) = allocation;
      return record;
    }
    record = record_count_;
    if (record == kNoRecord) throw std::length_error("more than 4 billion live allocations");
    if ((record & kChunkMask) == 0) add_chunk();
    ++record_count_;
    record_at(record) = allocation;
    return record;
  }
  void free_record(uint32_t record) {
    record_at(record).serial = free_top_;
    free_top_ = record;
  }

  // Doubles the slots and puts every key back, in the order of the old slots.
  void grow() {
    std::vector<Slot, HugePageAllocator<Slot>> old = std::move(slots_);
    slots_.assign(old.empty() ? 64 : old.size() * 2, Slot{});
    mask_ = slots_.size() - 1;
    grow_at_ = slots_.size() / 4;
    if (record_count_ == 0) {  // record 0: kEmpty
      add_chunk();
      record_count_ = 1;
    }
    const size_t mask = mask_;
    for (const Slot& slot : old) {
      if (slot.record == kEmpty) continue;
      size_t i = home(slot, mask);
      while (slots_[i].record != kEmpty) i = (i + 1) & mask;
      slots_[i] = slot;
    }
  }

  std::vector<Slot, HugePageAllocator<Slot>> slots_;  // a power of two in size, at most a quarter full
  // The records, in chunks that never move: a table that grows copies no
  // records and touches each page once.
#ifdef VRAMSCOPE_ALLOCATION_CHUNK_SHIFT
  // The fuzz build takes small chunks: its inputs then cross chunks, and
  // AddressSanitizer does not poison 7 MiB for every table a harness makes.
  static constexpr size_t kChunkShift = VRAMSCOPE_ALLOCATION_CHUNK_SHIFT;
#else
  static constexpr size_t kChunkShift = 17;  // 7 MiB a chunk, in 2 MiB pages
#endif
  static constexpr size_t kChunkMask = (size_t{1} << kChunkShift) - 1;
  struct ChunkDelete {
    void operator()(Allocation* chunk) const {
      HugePageAllocator<Allocation>().deallocate(chunk, kChunkMask + 1);
    }
  };
  Allocation& record_at(uint32_t index) const { return chunks_[index >> kChunkShift][index & kChunkMask]; }
  void add_chunk() { chunks_.emplace_back(HugePageAllocator<Allocation>().allocate(kChunkMask + 1)); }
  std::vector<std::unique_ptr<Allocation[], ChunkDelete>> chunks_;
  uint32_t record_count_ = 0;
  uint32_t free_top_ = kNoRecord;  // the last freed record
  size_t size_ = 0;
  size_t mask_ = 0;     // slots_.size() - 1
  size_t grow_at_ = 0;  // the size an insert first grows the slots at: a quarter of their number
};

}  // namespace vramscope::analysis
