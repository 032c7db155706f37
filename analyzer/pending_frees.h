// The frees still to come of a sweep over tensors in allocation order, as
// bytes per category. Most tensors live a few hundred events, so their bytes
// wait in a ring of per-event slots that the sweep walks as it advances: no
// heap to keep in order for millions of tensors. The few that live longer,
// and a second category freed at one event, wait in a heap.
#pragma once

#include <algorithm>
#include <array>
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
    if (free_index - next_ < kRing) {
      size_t slot = free_index & kRingMask;
      if (bytes_[slot] == 0) {
        bytes_[slot] = size;
        categories_[slot] = static_cast<uint8_t>(category);
        return;
      }
      if (categories_[slot] == category && bytes_[slot] + size != 0) {  // 0 would read as empty
        bytes_[slot] += size;
        return;
      }
    }
    far_.push(Far{free_index, category, size});
    next_far_ = far_.top().free_index;
  }

  // Takes the bytes freed at events up to `index`, included, off `live`.
  void release_until(size_t index, Bytes& live) {
    if (index < next_) return;
    // Slots past a whole turn of the ring hold nothing: no need to walk them twice.
    size_t walk = std::min<size_t>(index - next_ + 1, kRing);
    size_t from = next_ & kRingMask;
    size_t to_end = std::min(walk, kRing - from);
    release_slots(from, from + to_end, live);
    release_slots(0, walk - to_end, live);
    next_ = index + 1;
    if (next_far_ <= index) release_far(index, live);
  }

 private:
  static constexpr size_t kRing = 4096;  // events; a power of two
  static constexpr size_t kRingMask = kRing - 1;
  struct Far {
    size_t free_index;
    size_t category;
    uint64_t size;
    bool operator>(const Far& o) const { return free_index > o.free_index; }
  };
  static_assert(kCategories <= 256);

  // An empty slot holds 0 bytes: taking them off changes nothing, and costs no branch.
  void release_slots(size_t from, size_t to, Bytes& live) {
    uint64_t* bytes = bytes_.data();
    const uint8_t* categories = categories_.data();
    for (size_t slot = from; slot < to; ++slot) {
      live[categories[slot]] -= bytes[slot];
      bytes[slot] = 0;
    }
  }
  void release_far(size_t index, Bytes& live) {
    for (; !far_.empty() && far_.top().free_index <= index; far_.pop()) {
      live[far_.top().category] -= far_.top().size;
    }
    next_far_ = far_.empty() ? kNoFar : far_.top().free_index;
  }

  // The slot of event e is e mod kRing, for events from next_ on: the bytes
  // freed there (0: none) and their category.
  std::vector<uint64_t> bytes_ = std::vector<uint64_t>(kRing);
  std::vector<uint8_t> categories_ = std::vector<uint8_t>(kRing);
  size_t next_ = 0;  // the first event not released
  std::priority_queue<Far, std::vector<Far>, std::greater<Far>> far_;
  static constexpr size_t kNoFar = static_cast<size_t>(-1);
  size_t next_far_ = kNoFar;  // the earliest free in far_
};

}  // namespace vramscope::analysis
