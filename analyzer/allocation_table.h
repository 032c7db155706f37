// The live allocations, found by (kind, device, address): a flat hash table
// with linear probing. A trace has millions of allocations live at once, and
// a node-based map costs a cache miss per bucket and per node on every event.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

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
};

class AllocationTable {
 public:
  // The live allocation with this key, or nullptr. The pointer is valid
  // until the next insert or erase.
  Allocation* find(trace::MemoryKind kind, uint32_t device, uint64_t address);
  // Inserts `allocation`, or returns the one already live at its key
  // (second: false) and leaves it unchanged.
  std::pair<Allocation*, bool> insert(const Allocation& allocation);
  // `allocation` must come from find() or insert().
  void erase(Allocation* allocation);

  size_t size() const { return size_; }

  template <typename Visit>
  void for_each(Visit&& visit) const {
    for (const Slot& slot : slots_) {
      if (slot.used) visit(slot.allocation);
    }
  }

 private:
  struct Slot {
    Allocation allocation;
    bool used = false;
  };
  static size_t hash(trace::MemoryKind kind, uint32_t device, uint64_t address);
  size_t home(const Allocation& a) const { return hash(a.kind, a.device, a.address) & (slots_.size() - 1); }
  void grow();

  std::vector<Slot> slots_;  // a power of two in size, at most half full
  size_t size_ = 0;
};

}  // namespace vramscope::analysis
