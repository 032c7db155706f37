// The lifetime log: its rare paths (a new chunk, fields too wide for a record).
#include "analyzer/lifetimes.h"

namespace vramscope::analysis {

void LifetimeLog::add_chunk() {
  chunks_.push_back(make_populated<Record>(kChunkRecords));
  next_ = chunks_.back().get();
  chunk_end_ = next_ + kChunkRecords;
}

void LifetimeLog::add_wide(Record& r, size_t index, const Allocation& a) {
  r.index_step = 0;
  r.device = kWideDevice;
  wide_[allocations_] = WideFields{true, index, a.size, a.device, 0};
}

void LifetimeLog::close_wide(Record& r, uint64_t serial, uint64_t after) {
  if (r.device != kWideDevice) {
    wide_[serial] = WideFields{false, 0, r.size, r.device, 0};
    r.device = kWideDevice;
  }
  wide_.at(serial).free_after = after;
}

Lifetime LifetimeLog::wide_lifetime(const Record& r, uint64_t serial, size_t previous) const {
  const WideFields& wide = wide_.at(serial);
  return lifetime_of(r, wide.has_index ? wide.alloc_index : previous + r.index_step, wide.free_after,
                     wide.device, wide.size);
}

}  // namespace vramscope::analysis
