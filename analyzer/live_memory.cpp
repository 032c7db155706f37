// Allocation matching and live-byte accounting.
#include "analyzer/live_memory.h"

namespace vramscope::analysis {

namespace {

size_t kind_index(trace::MemoryKind kind) {
  size_t index = static_cast<size_t>(kind);
  return index < trace::kMemoryKindCount ? index : 0;
}

}  // namespace

const LiveChange& LiveMemory::apply(const trace::Event& event) {
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
    Allocation* found = live_.find(event.kind, event.address);
    if (found == nullptr) {
      change.what = LiveChange::What::UnmatchedFree;
      return change;
    }
    // The allocation's size, not the event's: a free's size may be 0 or unknown.
    change.what = LiveChange::What::Freed;
    change.allocation = *found;
    remove(*found);
    live_.erase(found);
  }
  return change;
}

void LiveMemory::add(const Allocation& allocation) {
  kind_bytes_[kind_index(allocation.kind)] += allocation.size;
  if (!trace::occupies_device_memory(allocation.kind)) return;
  DeviceUsage& usage = this->usage(allocation.device);
  usage.bytes += allocation.size;
  usage.allocations += 1;
}

void LiveMemory::remove(const Allocation& allocation) {
  kind_bytes_[kind_index(allocation.kind)] -= allocation.size;
  if (!trace::occupies_device_memory(allocation.kind)) return;
  DeviceUsage& usage = this->usage(allocation.device);
  usage.bytes -= allocation.size;
  usage.allocations -= 1;
}

LiveMemory::DeviceUsage& LiveMemory::usage(uint32_t device) {
  if (last_usage_ == nullptr || device != last_device_) {
    last_usage_ = &devices_[device];
    last_device_ = device;
  }
  return *last_usage_;
}

uint64_t LiveMemory::device_bytes(uint32_t device) const {
  if (last_usage_ != nullptr && device == last_device_) return last_usage_->bytes;
  auto found = devices_.find(device);
  return found == devices_.end() ? 0 : found->second.bytes;
}

uint64_t LiveMemory::device_allocations(uint32_t device) const {
  if (last_usage_ != nullptr && device == last_device_) return last_usage_->allocations;
  auto found = devices_.find(device);
  return found == devices_.end() ? 0 : found->second.allocations;
}

uint64_t LiveMemory::kind_bytes(trace::MemoryKind kind) const { return kind_bytes_[kind_index(kind)]; }

}  // namespace vramscope::analysis
