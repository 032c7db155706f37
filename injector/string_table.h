// Interned names (NVTX messages, domains): each distinct text gets one string
// id, and its String record is written once, by the thread that first needs
// it, before any record that uses it. Lock-free and heap-free, like the stack
// tree: a fixed table of slots, each claimed with one compare-and-swap.
#pragma once

#include <sched.h>

#include <atomic>
#include <cstdint>
#include <string_view>

#include "formats/trace_events.h"

namespace vramscope::inject {

class StringTable {
 public:
  // The id of `text`. Text seen for the first time gets a new id, and
  // `define(id, text)` runs before any other thread can see that id. When the
  // table is full every new text gets a fresh id (and its own definition):
  // correct, only less compact.
  template <typename Define>
  trace::StringId intern(std::string_view text, Define&& define) {
    uint64_t key = hash(text);
    for (uint32_t i = static_cast<uint32_t>(key) & kMask, probes = 0; probes < kProbeLimit;
         i = (i + 1) & kMask, ++probes) {
      Slot& slot = slots_[i];
      uint64_t seen = slot.key.load(std::memory_order_acquire);
      if (seen == kEmpty) {
        if (!slot.key.compare_exchange_strong(seen, key, std::memory_order_acq_rel)) {
          if (seen != key) continue;  // another text took the slot
        } else {
          trace::StringId fresh{next_id_.fetch_add(1, std::memory_order_relaxed)};
          define(fresh, text);
          slot.id.store(fresh.value, std::memory_order_release);
          return fresh;
        }
      }
      if (seen != key) continue;
      uint32_t id = slot.id.load(std::memory_order_acquire);
      while (id == 0) {  // its definition is being written
        sched_yield();
        id = slot.id.load(std::memory_order_acquire);
      }
      return trace::StringId{id};
    }
    trace::StringId fresh{next_id_.fetch_add(1, std::memory_order_relaxed)};
    define(fresh, text);
    return fresh;
  }

  // Forgets every text (a forked child starts a new trace). Only safe with
  // one thread running.
  void reset() {
    for (Slot& slot : slots_) {
      slot.key.store(kEmpty, std::memory_order_relaxed);
      slot.id.store(0, std::memory_order_relaxed);
    }
    next_id_.store(1, std::memory_order_relaxed);
  }

 private:
  static constexpr uint32_t kSlots = 4096;  // distinct names a job uses; a power of two
  static constexpr uint32_t kMask = kSlots - 1;
  static constexpr uint32_t kProbeLimit = 64;
  static constexpr uint64_t kEmpty = 0;

  // Texts are told apart by a 64-bit hash of their bytes and length: a
  // collision (about 1 in 10^15 for a few thousand names) would share a name.
  static uint64_t hash(std::string_view text) {
    uint64_t h = 0xcbf29ce484222325ull ^ text.size();
    for (char c : text) {
      h ^= static_cast<uint8_t>(c);
      h *= 0x100000001b3ull;
    }
    h ^= h >> 29;
    return h == kEmpty ? 1 : h;
  }

  struct Slot {
    std::atomic<uint64_t> key{kEmpty};
    std::atomic<uint32_t> id{0};
  };

  Slot slots_[kSlots];
  std::atomic<uint32_t> next_id_{1};
};

}  // namespace vramscope::inject
