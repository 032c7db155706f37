// Matches frees to allocations and keeps the live bytes per device and kind:
// the state every other pass reads as it walks the event stream. A free
// finds its allocation by address space and address; its own kind, device
// and size may be missing or wrong (cuMemFree does not say what it frees).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>

#include "analyzer/allocation_table.h"
#include "formats/event_log.h"
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
  LiveMemory() = default;
  LiveMemory(const LiveMemory&) = delete;  // it points into its own tables
  LiveMemory& operator=(const LiveMemory&) = delete;

  // Alloc and Free events change the live set; every other type does not.
  // Call for every event of a walk, in order: events are counted. The
  // result is valid until the next call (it is rewritten, not rebuilt: a
  // walk calls this a hundred million times).
  const LiveChange& apply(const trace::Event& event);

  // Starts loading what apply(event) will look at (see FlatTable::prefetch).
  void prefetch(const trace::Event& event) const {
    if (event.type == trace::EventType::Alloc || event.type == trace::EventType::Free) {
      live_.prefetch(event.kind, event.address);
    }
  }

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
  DeviceUsage& usage(uint32_t device);

  LiveChange change_;
  uint64_t events_ = 0;
  uint64_t allocations_ = 0;
  AllocationTable live_;
  std::map<uint32_t, DeviceUsage> devices_;
  uint32_t last_device_ = 0;
  DeviceUsage* last_usage_ = nullptr;  // map entries stay where they are
  std::array<uint64_t, trace::kMemoryKindCount> kind_bytes_{};
};

// Walks the events through `live`: visit(index, event, change) for each, a
// free carrying its allocation's kind, device and size (the live set pairs
// it, so the walk leaves frees as recorded). Stops when visit returns false.
// The live set's slots are loaded a few events ahead: it holds millions.
template <typename Visit>
void walk_with_live_set(const trace::EventLog& events, LiveMemory& live, Visit&& visit) {
  constexpr size_t kPrefetchAhead = 8;
  trace::EventCursor walk = events.cursor(trace::FreeFields::AsRecorded);
  trace::Event completed;
  size_t i = 0;
  for (std::span<const trace::Event> batch = walk.next(); !batch.empty(); batch = walk.next()) {
    for (size_t j = 0; j < batch.size(); ++j, ++i) {
      if (j + kPrefetchAhead < batch.size()) live.prefetch(batch[j + kPrefetchAhead]);
      const LiveChange& change = live.apply(batch[j]);
      const trace::Event* event = &batch[j];
      if (change.what == LiveChange::What::Freed) {
        completed = batch[j];
        completed.kind = change.allocation.kind;
        completed.device = change.allocation.device;
        completed.size = change.allocation.size;
        event = &completed;
      }
      if (!visit(i, *event, change)) return;
    }
  }
}

}  // namespace vramscope::analysis
