// A PyTorch memory snapshot (the pickle torch.cuda.memory._dump_snapshot
// writes), which PyTorch's memory_viz (pytorch.org/memory_viz) opens: the
// trace's segments, blocks and allocation history in PyTorch's own schema.
#pragma once

#include <ostream>

#include "formats/trace_reader.h"

namespace vramscope::analysis {

// Writes `trace` as a snapshot pickle to `out`.
void write_pytorch_snapshot(const trace::TraceContents& trace, std::ostream& out);

}  // namespace vramscope::analysis
