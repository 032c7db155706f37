// A PyTorch memory snapshot (the pickle torch.cuda.memory._dump_snapshot
// writes), which PyTorch's memory_viz (pytorch.org/memory_viz) opens: the
// trace's segments, blocks and allocation history in PyTorch's own schema.
#pragma once

#include <cstdint>
#include <ostream>

#include "formats/trace_reader.h"

namespace vramscope::analysis {

// The snapshot has a list of entries for each device ordinal up to the
// highest: a trace with a device past this one is refused.
inline constexpr uint64_t kMaxSnapshotDevices = 4096;

// Writes `trace` as a snapshot pickle to `out`. Throws std::invalid_argument
// with a message for the user for a device past kMaxSnapshotDevices - 1.
void write_pytorch_snapshot(const trace::TraceContents& trace, std::ostream& out);

}  // namespace vramscope::analysis
