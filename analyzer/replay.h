// What-if replay: a recorded job's tensor-level requests run again through a
// model of an allocator, with another capacity or other settings, to answer
// "would it fit?" and "what would this setting save?" (docs/replay.md).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "formats/trace_reader.h"

namespace vramscope::analysis {

// One request of the job, in the order the job made them.
struct ReplayRequest {
  uint64_t time_ns = 0;
  uint64_t size = 0;    // an allocation's bytes asked for; 0 for a free
  uint64_t stream = 0;  // the CUDA stream whose pool serves it
  uint32_t id = 0;      // the allocation a free gives back
  bool alloc = true;
};

// A device memory segment the recording made.
struct RecordedSegment {
  uint64_t size = 0;
  uint64_t address = 0;
};

// The job's requests on one device, and what the recording says of them.
struct ReplayInput {
  uint32_t device = 0;
  std::vector<ReplayRequest> requests;
  uint32_t allocations = 0;  // ids 0 .. allocations-1
  size_t frees() const { return requests.size() - allocations; }
  std::vector<size_t> alloc_events;  // by id: the trace event that made it (SIZE_MAX: none)
  // Tensor blocks (an allocator's own requests: PyTorch's history, NVTX
  // regions), else the job's driver allocations stand for its requests.
  bool tensor_level = false;
  uint64_t capacity = 0;  // the device's memory, as the trace says (0: unknown)
  // As recorded: the device memory segments in the order they were made,
  // the peaks of reserved and of allocated memory.
  std::vector<RecordedSegment> recorded_segments;
  uint64_t recorded_peak_reserved = 0;
  uint64_t recorded_peak_allocated = 0;
  uint32_t recorded_failures = 0;  // the allocator's out-of-memory errors (each replayed as a request)
};

// The requests of `device` (default: the lowest with any). Throws
// std::invalid_argument when the trace has none to replay.
ReplayInput replay_input(const trace::TraceContents& trace, std::optional<uint32_t> device = std::nullopt);

// No model serves a request bigger than this (64 PiB: more than any device
// holds), so that their sums of sizes stay in range.
inline constexpr uint64_t kLargestReplayRequest = uint64_t{1} << 56;

// Torch and TorchExpandable: PyTorch's caching allocator (caching_allocator_model.h);
// CudaAsync: the driver's pool under backend:cudaMallocAsync (async_pool_model.h);
// Exact: each request its bytes and no more.
enum class AllocatorModel { Torch, TorchExpandable, CudaAsync, Exact };
// Whether PyTorch's PYTORCH_CUDA_ALLOC_CONF settings (TorchSettings) apply to it.
bool takes_torch_settings(AllocatorModel model);
const char* model_name(AllocatorModel model);
std::optional<AllocatorModel> parse_model(const std::string& text);

// PyTorch's PYTORCH_CUDA_ALLOC_CONF settings the model follows.
struct TorchSettings {
  uint64_t max_split_size = UINT64_MAX;  // max_split_size_mb, in bytes
  // roundup_power2_divisions per power-of-two interval from 1 MiB (the first
  // for every size up to 1 MiB, the last for every size from 16 GiB); 0 or 1: none.
  std::array<uint32_t, 16> roundup_power2_divisions{};
  double garbage_collection_threshold = 0;  // 0: off
};

// "4" (every interval) or "[256:1,512:2,1024:4,>:8]" (sizes in MiB, each the
// lower end of its interval), as PYTORCH_CUDA_ALLOC_CONF takes them. nullopt
// when malformed; `error` says why.
std::optional<std::array<uint32_t, 16>> parse_roundup_divisions(const std::string& text, std::string& error);

struct ReplayPoint {
  uint64_t time_ns = 0;
  uint64_t reserved = 0;
  uint64_t allocated = 0;
};

struct ReplayOom {
  size_t request = 0;  // its index in the input's requests
  uint64_t time_ns = 0;
  uint64_t size = 0;       // asked for
  uint64_t reserved = 0;   // after giving back what could be given back
  uint64_t allocated = 0;  // live, in blocks
  uint64_t capacity = 0;
};

struct ReplayResult {
  AllocatorModel model = AllocatorModel::Torch;
  uint64_t capacity = 0;
  size_t requests_done = 0;
  uint64_t peak_reserved = 0;
  uint64_t peak_reserved_time_ns = 0;
  uint64_t peak_allocated = 0;  // in blocks, as the allocator rounds them
  uint64_t peak_requested = 0;  // the bytes asked for
  // The most reserved memory held in no block at once (cached, split off, or
  // rounded up), and when.
  uint64_t peak_unused = 0;
  uint64_t peak_unused_time_ns = 0;
  std::vector<uint64_t> segments;  // every segment made (or pages mapped), its size, in order
  uint64_t segments_released = 0;
  uint64_t retries = 0;  // cached segments given back to retry a failed allocation
  std::optional<ReplayOom> oom;
  std::vector<ReplayPoint> timeline;  // at most `points` points: each the highest reserved of its stretch
};

ReplayResult replay(const ReplayInput& input, AllocatorModel model, const TorchSettings& settings,
                    uint64_t capacity, size_t points = 200);

// The smallest capacity, to 2 MiB, with which the replay runs out of memory
// nowhere: by bisection between the peak of requested bytes and what a
// replay with no limit reserves.
uint64_t smallest_capacity(const ReplayInput& input, AllocatorModel model, const TorchSettings& settings);

}  // namespace vramscope::analysis
