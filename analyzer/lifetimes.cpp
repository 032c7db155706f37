// The lifetime log: its rare paths (a new chunk, frees far from their allocations).
#include "analyzer/lifetimes.h"

namespace vramscope::analysis {

void LifetimeLog::add_chunk() {
  if (!chunks_.empty()) chunks_.back().used = static_cast<size_t>(next_ - chunks_.back().bytes.get());
  chunks_.push_back(RecordChunk{make_populated<uint8_t>(kChunkBytes), 0});
  next_ = chunks_.back().bytes.get();
  chunk_end_ = next_ + kChunkBytes;
}

void LifetimeLog::sort_far_frees() const {
  if (far_frees_sorted_ == far_frees_.size()) return;
  std::sort(far_frees_.begin(), far_frees_.end());
  far_frees_sorted_ = far_frees_.size();
}

}  // namespace vramscope::analysis
