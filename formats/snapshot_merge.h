// A framework's record of its allocator merged into the trace of the same
// process: the tensor blocks a PyTorch memory snapshot holds (its trace
// entries, with their Python stacks, and its out-of-memory notices) added to
// the driver-level events the injector recorded, on the trace's clock.
//
// The two clocks are tied by the segments: each `segment_alloc` (or
// `segment_map`) entry of the snapshot is the allocator's record of a
// driver allocation the injector recorded too, at the same address and of
// the same size. The wall clocks of both files place the snapshot roughly;
// the median gap between those pairs places it exactly (docs/frameworks.md).
#pragma once

#include <cstddef>
#include <cstdint>

#include "formats/trace_reader.h"

namespace vramscope::trace {

struct SnapshotMerge {
  TraceContents trace;                     // the native trace with the snapshot's blocks in it
  int64_t shift_ns = 0;                    // added to the snapshot's times to put them on the trace's clock
  size_t segments_in_window = 0;           // segment allocations the snapshot's entries record
  size_t segments_matched = 0;             // of those, found among the trace's driver allocations
  size_t segments_with_python_stacks = 0;  // driver allocations given the Python stack that made them
  size_t blocks = 0;                       // tensor block allocations added
  size_t out_of_memory = 0;                // the allocator's out-of-memory notices added
};

// `native` is a trace read checked (RecordCheck::Now); `snapshot` a PyTorch
// snapshot as import_pytorch_snapshot reads it. The snapshot's segments are
// not added (the trace has them, with native stacks), but their Python stacks
// are: each driver allocation of a segment gets the stack of the allocation
// that made the allocator take it, outermost, over its native frames inside
// the interpreter. Its heaps, blocks, out-of-memory notices and annotations
// are added, with their stacks.
SnapshotMerge merge_snapshot(const TraceContents& native, const TraceContents& snapshot);

}  // namespace vramscope::trace
