// Linear probing with backward-shift deletion: no tombstones, so lookups stay
// short however many allocations come and go.
#include "analyzer/allocation_table.h"

#include <cstddef>
#include <type_traits>

namespace vramscope::analysis {

size_t AllocationTable::hash(trace::MemoryKind kind, uint32_t device, uint64_t address) {
  // splitmix64's finalizer: aligned addresses differ only in their middle bits.
  uint64_t h = address ^ (static_cast<uint64_t>(device) << 40) ^ (static_cast<uint64_t>(kind) << 56);
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
  return static_cast<size_t>(h ^ (h >> 31));
}

Allocation* AllocationTable::find(trace::MemoryKind kind, uint32_t device, uint64_t address) {
  if (slots_.empty()) return nullptr;
  size_t mask = slots_.size() - 1;
  for (size_t i = hash(kind, device, address) & mask;; i = (i + 1) & mask) {
    Slot& slot = slots_[i];
    if (!slot.used) return nullptr;
    const Allocation& a = slot.allocation;
    if (a.address == address && a.kind == kind && a.device == device) return &slot.allocation;
  }
}

std::pair<Allocation*, bool> AllocationTable::insert(const Allocation& allocation) {
  if ((size_ + 1) * 2 > slots_.size()) grow();
  size_t mask = slots_.size() - 1;
  for (size_t i = home(allocation);; i = (i + 1) & mask) {
    Slot& slot = slots_[i];
    if (!slot.used) {
      slot.allocation = allocation;
      slot.used = true;
      ++size_;
      return {&slot.allocation, true};
    }
    const Allocation& a = slot.allocation;
    if (a.address == allocation.address && a.kind == allocation.kind && a.device == allocation.device) {
      return {&slot.allocation, false};
    }
  }
}

void AllocationTable::erase(Allocation* allocation) {
  size_t mask = slots_.size() - 1;
  static_assert(std::is_standard_layout_v<Slot> && offsetof(Slot, allocation) == 0);
  size_t hole = static_cast<size_t>(reinterpret_cast<Slot*>(allocation) - slots_.data());
  // Pull back every later entry of the run that may live in the hole, so that
  // a lookup never stops early at an empty slot.
  for (size_t next = (hole + 1) & mask; slots_[next].used; next = (next + 1) & mask) {
    size_t wanted = home(slots_[next].allocation);
    bool stays = hole <= next ? (hole < wanted && wanted <= next) : (hole < wanted || wanted <= next);
    if (stays) continue;
    slots_[hole] = slots_[next];
    hole = next;
  }
  slots_[hole].used = false;
  --size_;
}

void AllocationTable::grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(old.empty() ? 64 : old.size() * 2, Slot{});
  size_ = 0;
  for (const Slot& slot : old) {
    if (slot.used) insert(slot.allocation);
  }
}

}  // namespace vramscope::analysis
