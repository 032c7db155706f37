// The lifetime log.
#include "analyzer/lifetimes.h"

namespace vramscope::analysis {

namespace {

bool is_tracked(trace::MemoryKind kind) {
  return trace::occupies_device_memory(kind) || kind == trace::MemoryKind::Block;
}

}  // namespace

void LifetimeLog::close(const Allocation& allocation, size_t index) {
  auto found = open_.find({allocation.kind, allocation.device, allocation.address});
  if (found == open_.end()) return;
  lifetimes_[found->second].free_index = index;
  open_.erase(found);
}

void LifetimeLog::observe(size_t index, const LiveChange& change) {
  if (change.displaced && is_tracked(change.displaced->kind)) close(*change.displaced, index);
  if (!is_tracked(change.allocation.kind)) return;
  const Allocation& a = change.allocation;
  if (change.what == LiveChange::What::Freed) {
    close(a, index);
  } else if (change.what == LiveChange::What::Allocated) {
    if (a.kind == trace::MemoryKind::Block) has_blocks_ = true;
    open_[{a.kind, a.device, a.address}] = lifetimes_.size();
    lifetimes_.push_back(Lifetime{index, kNeverFreed, a.kind, a.device, a.size, a.stack});
  }
}

std::vector<Lifetime> LifetimeLog::tensors() const {
  std::vector<Lifetime> result;
  for (const Lifetime& l : lifetimes_) {
    if ((l.kind == trace::MemoryKind::Block) == has_blocks_) result.push_back(l);
  }
  return result;
}

}  // namespace vramscope::analysis
