// The live allocations, and what the analyzer knows of each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "formats/flat_table.h"
#include "formats/trace_events.h"

namespace vramscope::analysis {

// 56 bytes: with the table's flag, one cache line per slot.
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
class AllocationTable {
 public:
  // The live allocation with this key, or nullptr. The pointer is valid
  // until the next insert or erase.
  Allocation* find(trace::MemoryKind kind, uint64_t address) {
    return table_.find(trace::AddressKey{trace::address_space(kind), address});
  }
  void prefetch(trace::MemoryKind kind, uint64_t address) const {
    table_.prefetch(trace::AddressKey{trace::address_space(kind), address});
  }
  // Inserts `allocation`, or returns the one already live at its key
  // (second: false) and leaves it unchanged.
  std::pair<Allocation*, bool> insert(const Allocation& allocation) { return table_.insert(allocation); }
  // `allocation` must come from find() or insert().
  void erase(Allocation* allocation) { table_.erase(allocation); }

  size_t size() const { return table_.size(); }

  template <typename Visit>
  void for_each(Visit&& visit) const {
    table_.for_each(visit);
  }

 private:
  struct Traits {
    static trace::AddressKey key(const Allocation& a) { return {trace::address_space(a.kind), a.address}; }
    static size_t hash(const trace::AddressKey& k) { return k.hash(); }
  };
  FlatTable<Allocation, Traits> table_;
};

}  // namespace vramscope::analysis
