// The lifetime log: its rare paths (a new chunk, fields too wide for a record).
#include "analyzer/lifetimes.h"

namespace vramscope::analysis {

void LifetimeLog::add_chunk() {
  chunks_.push_back(std::make_unique_for_overwrite<Record[]>(kChunkRecords));  // add() writes every field
}

void LifetimeLog::add_wide(size_t index, const Allocation& a) {
  Record& r = record(allocations_);
  r.size = kWide;
  r.index_step = 0;
  r.device = 0;
  wide_[allocations_] = WideFields{index, a.size, a.device};
}

void LifetimeLog::close_far(uint64_t serial, size_t index) {
  record(serial).free_after = kWide;
  far_frees_[serial] = index;
}

const LifetimeLog::WideFields& LifetimeLog::wide(uint64_t serial) const { return wide_.at(serial); }

}  // namespace vramscope::analysis
