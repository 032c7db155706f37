// `replay --scale-batch F`: another batch size, estimated by scaling the
// requests the report counts as activations (docs/replay.md).
#pragma once

#include "analyzer/replay.h"

namespace vramscope::analysis {

struct ScaledBatch {
  ReplayInput input;
  uint32_t scaled = 0;            // the allocations scaled
  uint64_t bytes_before = 0;      // their bytes, as recorded
  uint64_t bytes_after = 0;       // and scaled
  std::string iterations_method;  // how the iterations were found ("none": no activations can be told)
};

// The requests of `input` (made from `trace`) with every allocation the
// report's categories call activations `factor` times its size, rounded up
// to 512 bytes.
ScaledBatch scale_activations(const trace::TraceContents& trace, const ReplayInput& input, double factor);

}  // namespace vramscope::analysis
