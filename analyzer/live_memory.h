// Matches frees to allocations and keeps the live bytes per device and kind:
// the state every other pass reads as it walks the event stream.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>

#include "analyzer/allocation_table.h"
#include "formats/trace_events.h"

namespace vramscope::analysis {

// What one event did to the live set.
struct LiveChange {
  enum class What { None, Allocated, Freed, UnmatchedFree };
  What what = What::None;
  Allocation allocation;  // the new allocation, or the one freed
  // An allocation at an address that was still live: its free is missing
  // from the trace, so the earlier allocation is taken as freed.
  std::optional<Allocation> displaced;
};

class LiveMemory {
 public:
  // Alloc and Free events change the live set; every other type does not.
  LiveChange apply(const trace::Event& event);

  // Live bytes and allocations of the kinds that occupy device memory.
  uint64_t device_bytes(uint32_t device) const;
  uint64_t device_allocations(uint32_t device) const;
  // Live bytes of one kind, all devices together.
  uint64_t kind_bytes(trace::MemoryKind kind) const;

  template <typename Visit>
  void for_each_live(Visit&& visit) const {
    live_.for_each(visit);
  }

 private:
  struct DeviceUsage {
    uint64_t bytes = 0;
    uint64_t allocations = 0;
  };

  void add(const Allocation& allocation);
  void remove(const Allocation& allocation);

  AllocationTable live_;  // each kind and each device is its own address space
  std::map<uint32_t, DeviceUsage> devices_;
  std::array<uint64_t, trace::kMemoryKindCount> kind_bytes_{};
};

}  // namespace vramscope::analysis
