// The frees still to come of a sweep over tensors in allocation order, as
// bytes per category. Most tensors live a few hundred events, so their bytes
// wait in a ring of per-event slots that the sweep walks as it advances: no
// heap to keep in order for millions of tensors. A bit per slot says which
// hold a free, so the walk skips the empty ones 64 at a time. The few that
// live longer, and a second category freed at one event, wait in a heap.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <queue>
#include <vector>

namespace vramscope::analysis {

template <size_t kCategories>
class PendingFrees {
 public:
  using Bytes = std::array<uint64_t, kCategories>;

  // A free at `free_index`, after every event released so far.
  void add(size_t free_index, size_t category, uint64_t size) {
    if (size == 0) return;  // frees nothing
    if (fits_ring(free_index)) {
      size_t slot = free_index & kRingMask;
      uint64_t& word = taken_[slot >> 6];
      uint64_t bit = uint64_t{1} << (slot & 63);
      if ((word & bit) == 0) {
        word |= bit;
        bytes_[slot] = size;
        categories_[slot] = static_cast<uint8_t>(category);
        return;
      }
      if (categories_[slot] == category) {
        bytes_[slot] += size;
        return;
      }
    }
    far_.push(Far{free_index, category, size});
    next_far_ = far_.top().free_index;
  }

  // Whether add puts a free at `free_index` in the ring, not aside: it is
  // less than a turn of the ring past the first event not released.
  bool fits_ring(size_t free_index) const { return free_index - next_ < kRing; }

  // Takes the bytes freed at events up to `index`, included, off `live`.
  void release_until(size_t index, Bytes& live) {
    if (index < next_) return;
    // Slots past a whole turn of the ring hold nothing: no need to walk them twice.
    size_t last = next_ + std::min<size_t>(index - next_, kRing - 1);  // the last event walked
    size_t word = next_ >> 6;
    uint64_t taken = taken_[word & kWordMask] & (~uint64_t{0} << (next_ & 63));
    for (size_t last_word = last >> 6; word != last_word;) {
      release_slots(word, taken, live);
      ++word;
      taken = taken_[word & kWordMask];
    }
    release_slots(word, taken & (~uint64_t{0} >> (63 - (last & 63))), live);
    next_ = index + 1;
    if (next_far_ <= index) release_far(index, live);
  }

 private:
  static constexpr size_t kRing = 4096;  // events; a power of two, a multiple of 64
  static constexpr size_t kRingMask = kRing - 1;
  static constexpr size_t kWordMask = kRing / 64 - 1;
  struct Far {
    size_t free_index;
    size_t category;
    uint64_t size;
    bool operator>(const Far& o) const { return free_index > o.free_index; }
  };
  static_assert(kCategories <= 256);

  // The slots of ring word `word` whose bits `taken` holds: a walk visits
  // only the slots that hold a free, most events free no tensor.
  void release_slots(size_t word, uint64_t taken, Bytes& live) {
    size_t first_slot = (word & kWordMask) << 6;
    taken_[word & kWordMask] &= ~taken;
    for (; taken != 0; taken &= taken - 1) {
      size_t slot = first_slot + static_cast<size_t>(std::countr_zero(taken));
      live[categories_[slot]] -= bytes_[slot];
    }
  }
  void release_far(size_t index, Bytes& live) {
    for (; !far_.empty() && far_.top().free_index <= index; far_.pop()) {
      live[far_.top().category] -= far_.top().size;
    }
    next_far_ = far_.empty() ? kNoFar : far_.top().free_index;
  }

  // The slot of event e is e mod kRing, for events from next_ on: whether
  // it holds a free (a bit of taken_), its bytes and their category.
  std::array<uint64_t, kRing / 64> taken_{};
  std::vector<uint64_t> bytes_ = std::vector<uint64_t>(kRing);
  std::vector<uint8_t> categories_ = std::vector<uint8_t>(kRing);
  size_t next_ = 0;  // the first event not released
  std::priority_queue<Far, std::vector<Far>, std::greater<Far>> far_;
  static constexpr size_t kNoFar = static_cast<size_t>(-1);
  size_t next_far_ = kNoFar;  // the earliest free in far_
};

}  // namespace vramscope::analysis
