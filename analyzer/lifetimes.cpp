// The lifetime log.
#include "analyzer/lifetimes.h"

#include "formats/trace_layout.h"

namespace vramscope::analysis {

namespace {

// Reads a varint the log wrote itself: it is whole, no bounds to check.
inline uint64_t read_varint(const uint8_t*& p) {
  uint64_t value = *p & 0x7f;
  for (int shift = 7; *p++ & 0x80; shift += 7) value |= static_cast<uint64_t>(*p & 0x7f) << shift;
  return value;
}

}  // namespace

uint8_t* LifetimeLog::BlockBytes::reserve_record() {
  if (blocks_.empty() || used_ + kMaxRecordBytes > kBlockBytes) {
    if (!blocks_.empty()) used_of_.push_back(used_);
    blocks_.push_back(std::make_unique_for_overwrite<uint8_t[]>(kBlockBytes));
    used_ = 0;
  }
  return blocks_.back().get() + used_;
}

uint64_t LifetimeLog::tensor_count() const { return tensors_[has_blocks_ ? 1 : 0]; }

void LifetimeLog::close(const Allocation& allocation, size_t index) {
  if (allocation.serial >= allocations_) return;
  uint64_t after = index - allocation.event_index;
  if (after < kFar) {
    free_after(allocation.serial) = static_cast<uint32_t>(after);
  } else {
    free_after(allocation.serial) = kFar;
    far_frees_[allocation.serial] = index;
  }
}

void LifetimeLog::observe(size_t index, const LiveChange& change) {
  if (change.displaced) close(*change.displaced, index);
  const Allocation& a = change.allocation;
  if (change.what == LiveChange::What::Freed) {
    close(a, index);
  } else if (change.what == LiveChange::What::Allocated) {
    if (a.kind == trace::MemoryKind::Block) has_blocks_ = true;
    if (is_tracked(a.kind)) ++tensors_[a.kind == trace::MemoryKind::Block ? 1 : 0];
    uint8_t* p = packed_.reserve_record();
    p = trace::layout::put_varint(p, index - last_alloc_index_);
    p = trace::layout::put_varint(p, a.size);
    p = trace::layout::put_varint(p, a.stack.value);
    *p++ = static_cast<uint8_t>(a.kind);
    p = trace::layout::put_varint(p, a.device);
    packed_.commit(p);
    last_alloc_index_ = index;
    if ((allocations_ & kFreeMask) == 0) {
      free_after_.push_back(std::make_unique<uint32_t[]>(size_t{1} << kFreeShift));  // zeros: live
    }
    ++allocations_;
  }
}

bool LifetimeLog::Reader::next(Lifetime& l) {
  while (p_ == end_) {
    if (block_ >= log_.packed_.blocks()) return false;
    p_ = log_.packed_.block(block_);
    end_ = p_ + log_.packed_.block_used(block_);
    ++block_;
  }
  alloc_index_ += read_varint(p_);
  l.alloc_index = alloc_index_;
  l.size = read_varint(p_);
  l.stack = trace::StackId{static_cast<uint32_t>(read_varint(p_))};
  l.kind = static_cast<trace::MemoryKind>(*p_++);
  l.device = static_cast<uint32_t>(read_varint(p_));
  uint32_t after = log_.free_after(serial_);
  if (after == 0) {
    l.free_index = kNeverFreed;
  } else if (after == kFar) {
    l.free_index = log_.far_frees_.at(serial_);
  } else {
    l.free_index = l.alloc_index + after;
  }
  ++serial_;
  return true;
}

}  // namespace vramscope::analysis
