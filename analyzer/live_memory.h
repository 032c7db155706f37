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

  // Starts loading what apply(event) will look at (see AllocationTable::prefetch).
  void prefetch(const trace::Event& event) const {
    if (event.type == trace::EventType::Alloc || event.type == trace::EventType::Free) {
      live_.prefetch(event.kind, event.address);
    }
  }

  // Live bytes and allocations of the kinds that occupy device memory.
  uint64_t device_bytes(uint32_t device) const {
    if (last_usage_ != nullptr && device == last_device_) return last_usage_->bytes;
    return other_device_usage(device).bytes;
  }
  uint64_t device_allocations(uint32_t device) const {
    if (last_usage_ != nullptr && device == last_device_) return last_usage_->allocations;
    return other_device_usage(device).allocations;
  }
  // Live device-memory allocations of the device with a size: its segments.
  uint64_t device_segments(uint32_t device) const {
    const DeviceUsage& usage =
        last_usage_ != nullptr && device == last_device_ ? *last_usage_ : other_device_usage(device);
    return usage.allocations - usage.empty_allocations;
  }
  // Live bytes of one kind, all devices together.
  uint64_t kind_bytes(trace::MemoryKind kind) const { return kind_bytes_[kind_index(kind)]; }

  template <typename Visit>
  void for_each_live(Visit&& visit) const {
    live_.for_each(visit);
  }

 private:
  struct DeviceUsage {
    uint64_t bytes = 0;
    uint64_t allocations = 0;
    uint64_t empty_allocations = 0;  // of size 0
  };

  static size_t kind_index(trace::MemoryKind kind) {
    size_t index = static_cast<size_t>(kind);
    return index < trace::kMemoryKindCount ? index : 0;
  }
  void add(const Allocation& allocation) {
    kind_bytes_[kind_index(allocation.kind)] += allocation.size;
    if (!trace::occupies_device_memory(allocation.kind)) return;
    DeviceUsage& usage = this->usage(allocation.device);
    usage.bytes += allocation.size;
    usage.allocations += 1;
    usage.empty_allocations += allocation.size == 0;
  }
  void remove(const Allocation& allocation) {
    kind_bytes_[kind_index(allocation.kind)] -= allocation.size;
    if (!trace::occupies_device_memory(allocation.kind)) return;
    DeviceUsage& usage = this->usage(allocation.device);
    usage.bytes -= allocation.size;
    usage.allocations -= 1;
    usage.empty_allocations -= allocation.size == 0;
  }
  DeviceUsage& usage(uint32_t device) {
    if (last_usage_ == nullptr || device != last_device_) {
      last_usage_ = &devices_[device];  // map entries stay where they are
      last_device_ = device;
    }
    return *last_usage_;
  }
  DeviceUsage other_device_usage(uint32_t device) const;

  LiveChange change_;
  uint64_t events_ = 0;
  uint64_t allocations_ = 0;
  AllocationTable live_;
  std::map<uint32_t, DeviceUsage> devices_;
  uint32_t last_device_ = 0;
  DeviceUsage* last_usage_ = nullptr;  // map entries stay where they are
  std::array<uint64_t, trace::kMemoryKindCount> kind_bytes_{};
};

inline const LiveChange& LiveMemory::apply(const trace::Event& event) {
  LiveChange& change = change_;
  change.what = LiveChange::What::None;
  change.displaced.reset();
  ++events_;
  if (event.type == trace::EventType::Alloc) {
    change.what = LiveChange::What::Allocated;
    Allocation& a = change.allocation;
    a.kind = event.kind;
    a.device = event.device;
    a.address = event.address;
    a.size = event.size;
    a.time_ns = event.time_ns;
    a.stack = event.stack;
    a.thread = event.thread;
    a.serial = allocations_++;
    a.event_index = events_ - 1;
    auto [slot, inserted] = live_.insert(a);
    if (!inserted) {
      change.displaced = *slot;
      remove(*slot);
      *slot = a;
    }
    add(a);
  } else if (event.type == trace::EventType::Free) {
    if (!live_.take(event.kind, event.address, change.allocation)) {
      change.what = LiveChange::What::UnmatchedFree;
      return change;
    }
    // The allocation's size, not the event's: a free's size may be 0 or unknown.
    change.what = LiveChange::What::Freed;
    remove(change.allocation);
  }
  return change;
}

// Walks the events through `live`: visit(index, event, change) for each,
// the event as recorded (a free's kind, device and size are its record's,
// the change's allocation has the true ones: see filled()). Stops when
// visit returns false. The live set's slots are loaded a few events ahead:
// it holds millions.
template <typename Visit>
void walk_live_changes(const trace::EventLog& events, LiveMemory& live, Visit&& visit) {
  constexpr size_t kPrefetchAhead = 8;
  trace::EventCursor walk = events.cursor(trace::FreeFields::AsRecorded);
  size_t i = 0;
  for (std::span<const trace::Event> batch = walk.next(); !batch.empty(); batch = walk.next()) {
    for (size_t j = 0; j < batch.size(); ++j, ++i) {
      if (j + kPrefetchAhead < batch.size()) live.prefetch(batch[j + kPrefetchAhead]);
      if (!visit(i, batch[j], live.apply(batch[j]))) return;
    }
  }
}

// The event as a walk with paired frees gives it: a free carries the kind,
// device and size of the allocation it freed.
inline trace::Event filled(const trace::Event& event, const LiveChange& change) {
  trace::Event e = event;
  if (change.what == LiveChange::What::Freed) {
    e.kind = change.allocation.kind;
    e.device = change.allocation.device;
    e.size = change.allocation.size;
  }
  return e;
}

// walk_live_changes with every event filled: visit(index, event, change).
template <typename Visit>
void walk_with_live_set(const trace::EventLog& events, LiveMemory& live, Visit&& visit) {
  trace::Event completed;
  walk_live_changes(events, live, [&](size_t i, const trace::Event& event, const LiveChange& change) {
    if (change.what != LiveChange::What::Freed) return visit(i, event, change);
    completed = filled(event, change);
    return visit(i, completed, change);
  });
}

// walk_with_live_set up to a moment: the events at or before `time_ns` are
// applied and visited, none after (the viewer's views at a selected moment).
template <typename Visit>
void walk_with_live_set_until(const trace::EventLog& events, LiveMemory& live, uint64_t time_ns,
                              Visit&& visit) {
  trace::EventCursor walk = events.cursor(trace::FreeFields::AsRecorded);
  for (std::span<const trace::Event> batch = walk.next(); !batch.empty(); batch = walk.next()) {
    for (const trace::Event& event : batch) {
      if (event.time_ns > time_ns) return;
      const LiveChange& change = live.apply(event);
      visit(filled(event, change), change);
    }
  }
}

}  // namespace vramscope::analysis
