// A hash table of plain entries in one array: open addressing, linear
// probing, backward-shift deletion (no tombstones, so lookups stay short
// however many entries come and go). Traces hold millions of live
// allocations; a node-based map costs a cache miss per node on every event.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "formats/huge_page_allocator.h"

namespace vramscope {

// splitmix64's finalizer: aligned addresses differ only in their middle bits.
inline size_t mix_hash(uint64_t h) {
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
  return static_cast<size_t>(h ^ (h >> 31));
}

// Backward-shift deletion: whether the entry in slot `next`, whose lookup
// begins at `wanted`, stays where it is when slot `hole` (before it in the
// run) empties; else it moves back into the hole. Slots wrap at the table's end.
inline bool stays_behind_hole(size_t hole, size_t wanted, size_t next) {
  return hole <= next ? (hole < wanted && wanted <= next) : (hole < wanted || wanted <= next);
}

// `Traits` gives `Key key(const Entry&)` and `size_t hash(const Key&)`, both static.
template <typename Entry, typename Traits>
class FlatTable {
 public:
  using Key = decltype(Traits::key(std::declval<const Entry&>()));

  // The entry with this key, or nullptr. Valid until the next insert or erase.
  Entry* find(const Key& key) {
    if (slots_.empty()) return nullptr;
    size_t mask = slots_.size() - 1;
    size_t hash = Traits::hash(key);
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      Slot& slot = slots_[i];
      if (!slot.used) return nullptr;
      if (slot.hash == static_cast<uint32_t>(hash) && Traits::key(slot.entry) == key) return &slot.entry;
    }
  }

  // Starts loading the slot a lookup of `key` begins at: a table of millions
  // of entries misses the cache on nearly every lookup, and a walk over
  // events knows its keys a few events ahead.
  void prefetch(const Key& key) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[Traits::hash(key) & (slots_.size() - 1)]);
  }

  // Inserts `entry`, or returns the one already there with its key (second:
  // false), unchanged.
  std::pair<Entry*, bool> insert(const Entry& entry) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    const Key key = Traits::key(entry);
    return insert_hashed(entry, key, Traits::hash(key));
  }

  // `entry` must come from find() or insert().
  void erase(Entry* entry) {
    size_t mask = slots_.size() - 1;
    size_t hole = slot_of(entry);
    // Pull back every later entry of the run that may live in the hole, so
    // that a lookup never stops early at an empty slot.
    for (size_t next = (hole + 1) & mask; slots_[next].used; next = (next + 1) & mask) {
      size_t wanted = home(slots_[next]);
      if (stays_behind_hole(hole, wanted, next)) continue;
      slots_[hole] = slots_[next];
      hole = next;
    }
    slots_[hole].used = false;
    --size_;
  }

  size_t size() const { return size_; }

  template <typename Visit>
  void for_each(Visit&& visit) const {
    for (const Slot& slot : slots_) {
      if (slot.used) visit(slot.entry);
    }
  }

 private:
  // Slots of a power-of-two size up to 64 bytes never straddle two cache lines.
  static constexpr size_t kSlotAlign =
      std::bit_ceil(sizeof(Entry) + 5) <= 64 ? std::bit_ceil(sizeof(Entry) + 5) : alignof(Entry);
  // The low bits of the key's hash are kept with the entry: most probes that
  // meet another key are told apart without comparing keys, and moving an
  // entry needs no hashing.
  struct alignas(kSlotAlign) Slot {
    Entry entry{};
    uint32_t hash = 0;
    bool used = false;
  };

  size_t slot_of(const Entry* entry) const {
    // The entry is a Slot's first member.
    return static_cast<size_t>(reinterpret_cast<const Slot*>(entry) - slots_.data());
  }

  // The slot's key's hash, as far as a table of mask + 1 slots reads it.
  static size_t hash_of(const Slot& slot, size_t mask) {
    if (mask <= UINT32_MAX) return slot.hash;
    return Traits::hash(Traits::key(slot.entry));  // more slots than the kept bits reach
  }
  // The slot a lookup of this slot's key begins at.
  size_t home(const Slot& slot) const {
    size_t mask = slots_.size() - 1;
    return hash_of(slot, mask) & mask;
  }

  std::pair<Entry*, bool> insert_hashed(const Entry& entry, const Key& key, size_t hash) {
    size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      Slot& slot = slots_[i];
      if (!slot.used) {
        slot.entry = entry;
        slot.hash = static_cast<uint32_t>(hash);
        slot.used = true;
        ++size_;
        return {&slot.entry, true};
      }
      if (slot.hash == static_cast<uint32_t>(hash) && Traits::key(slot.entry) == key)
        return {&slot.entry, false};
    }
  }

  void grow() {
    std::vector<Slot, HugePageAllocator<Slot>> old = std::move(slots_);
    slots_.assign(old.empty() ? 64 : old.size() * 2, Slot{});
    size_ = 0;
    size_t mask = slots_.size() - 1;
    for (const Slot& slot : old) {
      if (slot.used) insert_hashed(slot.entry, Traits::key(slot.entry), hash_of(slot, mask));
    }
  }

  std::vector<Slot, HugePageAllocator<Slot>> slots_;  // a power of two in size, at most half full
  size_t size_ = 0;
};

}  // namespace vramscope
