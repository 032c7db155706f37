// The frees still to come of a sweep over tensors in allocation order, as
// bytes per category. Most tensors live a few hundred events, so their bytes
// wait in a ring of per-event slots that the sweep walks as it advances: no
// heap to keep in order for millions of tensors. The few that live longer
// wait in a heap.
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
    if (free_index - next_ < kRing) {
      size_t slot = free_index & kRingMask;
      bytes_[slot][category] += size;
      categories_[slot] |= 1u << category;
    } else {
      far_.push(Far{free_index, category, size});
    }
  }

  // Takes the bytes freed at events up to `index`, included, off `live`.
  void release_until(size_t index, Bytes& live) {
    if (index < next_) return;
    // Slots past a whole turn of the ring hold nothing: no need to walk them twice.
    size_t walk = std::min<size_t>(index - next_ + 1, kRing);
    for (size_t e = next_; e < next_ + walk; ++e) {
      size_t slot = e & kRingMask;
      for (uint32_t left = categories_[slot]; left != 0; left &= left - 1) {
        size_t c = static_cast<size_t>(__builtin_ctz(left));
        live[c] -= bytes_[slot][c];
        bytes_[slot][c] = 0;
      }
      categories_[slot] = 0;
    }
    next_ = index + 1;
    for (; !far_.empty() && far_.top().free_index <= index; far_.pop()) {
      live[far_.top().category] -= far_.top().size;
    }
  }

 private:
  static constexpr size_t kRing = 1024;  // events; a power of two
  static constexpr size_t kRingMask = kRing - 1;
  struct Far {
    size_t free_index;
    size_t category;
    uint64_t size;
    bool operator>(const Far& o) const { return free_index > o.free_index; }
  };
  static_assert(kCategories <= 32);

  // The slot of event e is e mod kRing, for events from next_ on.
  std::vector<Bytes> bytes_ = std::vector<Bytes>(kRing);
  std::vector<uint32_t> categories_ = std::vector<uint32_t>(kRing);  // bit c: bytes_[slot][c] holds frees
  size_t next_ = 0;                                                  // the first event not released
  std::priority_queue<Far, std::vector<Far>, std::greater<Far>> far_;
};

}  // namespace vramscope::analysis
