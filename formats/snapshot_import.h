// PyTorch memory snapshots (`torch.cuda.memory._dump_snapshot` pickles) read
// as a vramscope trace: the caching allocator's segments as device memory,
// its tensor blocks inside them, their Python and C++ stacks, failed
// allocations and the user's annotations. Both schemas: the current one
// (blocks with `address` and `frames`, trace entries with `time_us`) and
// 2023's (blocks with `history`, entries without times).
#pragma once

#include <cstdint>
#include <string>

#include "formats/pickle.h"
#include "formats/trace_reader.h"

namespace vramscope::trace {

// Throws TraceError for a file that is no pickle, a pickle that is no
// snapshot, or one that cannot be read as data (pickle::PickleError's
// message, with the file's name).
TraceContents import_pytorch_snapshot(const std::string& path);
TraceContents import_pytorch_snapshot(const pickle::Document& snapshot, const std::string& source);

// The file name of the frame the importer gives the rounding block (below).
inline constexpr const char* kSnapshotFile = "<pytorch snapshot>";

// The address of the one block that stands for the bytes a caching
// allocator rounded up, over what the trace's entries asked for, on blocks
// still live at the snapshot (see docs/import.md): no block's address, as
// blocks are aligned. It is no request of the job's.
inline constexpr uint64_t kRoundingBlockAddress = 1;

}  // namespace vramscope::trace
