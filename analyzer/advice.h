// Advice: remedies for training memory (optimizer, precision, micro-batch,
// checkpointing, sharding, allocator settings, leaks), each with the saving
// estimated from the report's own figures. The rules are in docs/report.md.
#pragma once

#include <vector>

#include "analyzer/report.h"

namespace vramscope::analysis {

// GPUs that optimizer-state sharding (ZeRO-1/FSDP) is reckoned over.
inline constexpr uint64_t kShardGpus = 8;

// Only advice the report supports, by saving_bytes descending (ties in rule
// order). Reads the categories at each device's peak, fragmentation at the
// peak and growth leaks; call once the rest of the report is filled.
std::vector<Advice> advise(const Report& report);

}  // namespace vramscope::analysis
