// The prefix tree that de-duplicates call stacks: each (parent, return
// address) pair gets one id, and its definition is written to the trace once.
// Lock-free: a slot is claimed with one compare-and-swap; no heap, no mutex.
#pragma once

#include <sys/mman.h>
#include <sched.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "formats/trace_events.h"

namespace vramscope::inject {

class StackTree {
 public:
  // `slot_count` must be a power of two. Reserves address space only; pages
  // are touched as stacks arrive.
  bool init(size_t slot_count) {
    void* memory = mmap(nullptr, slot_count * sizeof(Slot), PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (memory == MAP_FAILED) return false;
    slots_ = static_cast<Slot*>(memory);
    mask_ = slot_count - 1;
    limit_ = slot_count / 4 * 3;
    next_id_.store(1);
    return true;
  }

  // Forgets every node (a forked child starts a new trace). Only safe with
  // one thread running.
  void reset() {
    if (!slots_) return;
    size_t bytes = (mask_ + 1) * sizeof(Slot);
    munmap(slots_, bytes);
    slots_ = nullptr;
    init(mask_ + 1);
  }

  size_t size() const { return next_id_.load(std::memory_order_relaxed) - 1; }
  bool ready() const { return slots_ != nullptr; }

  // The id of `parent` + `ip`. A node seen for the first time gets a new id,
  // and `define(id, parent, ip)` runs before any other thread can see it, so
  // the definition is in the trace before any record that uses it. Returns
  // the invalid id when the table is full (the stack is then cut there).
  template <typename Define>
  trace::StackId insert(trace::StackId parent, uint64_t ip, Define&& define) {
    if (!slots_) return {};
    for (size_t i = hash(parent.value, ip) & mask_, probes = 0; probes <= mask_; i = (i + 1) & mask_, ++probes) {
      Slot& slot = slots_[i];
      uint32_t id = slot.id.load(std::memory_order_acquire);
      while (id == kBusy) {
        sched_yield();
        id = slot.id.load(std::memory_order_acquire);
      }
      if (id == kEmpty) {
        if (next_id_.load(std::memory_order_relaxed) > limit_) return {};
        if (!slot.id.compare_exchange_strong(id, kBusy, std::memory_order_acquire)) {
          // Another thread claimed it: look again at the same slot.
          i = (i - 1) & mask_;
          --probes;
          continue;
        }
        slot.parent = parent.value;
        slot.ip = ip;
        trace::StackId fresh{next_id_.fetch_add(1, std::memory_order_relaxed)};
        define(fresh, parent, ip);
        slot.id.store(fresh.value, std::memory_order_release);
        return fresh;
      }
      if (slot.parent == parent.value && slot.ip == ip) return trace::StackId{id};
    }
    return {};
  }

 private:
  static constexpr uint32_t kEmpty = 0;
  static constexpr uint32_t kBusy = UINT32_MAX;

  struct Slot {
    std::atomic<uint32_t> id;
    uint32_t parent;
    uint64_t ip;
  };
  static_assert(sizeof(Slot) == 16);

  static size_t hash(uint32_t parent, uint64_t ip) {
    uint64_t h = ip * 0x9E3779B97F4A7C15ull ^ (static_cast<uint64_t>(parent) * 0xC2B2AE3D27D4EB4Full);
    return static_cast<size_t>(h ^ (h >> 29));
  }

  Slot* slots_ = nullptr;
  size_t mask_ = 0;
  size_t limit_ = 0;
  std::atomic<uint32_t> next_id_{1};
};

}  // namespace vramscope::inject
