// `vramscope replay`'s text and JSON (docs/replay.md describes both).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "analyzer/replay.h"

namespace vramscope::analysis {

struct ReplayFit {
  std::string setting;  // "torch", "torch max_split_size 256.00 MiB", "exact", ...
  uint64_t smallest_capacity = 0;
};

struct ReplayReport {
  std::string trace;
  std::string device_name;
  const ReplayInput* input = nullptr;
  TorchSettings settings;
  // With --scale-batch: the factor, and the activations it scaled.
  double batch_scale = 0;
  uint32_t scaled_allocations = 0;
  uint64_t scaled_bytes_before = 0;
  uint64_t scaled_bytes_after = 0;
  ReplayResult result;
  std::vector<ReplayFit> fits;  // with --fit
};

// The settings that differ from PyTorch's defaults, as PYTORCH_CUDA_ALLOC_CONF writes them.
std::string settings_text(const TorchSettings& settings);
// How many of the recording's segments the replay made, in the same order and sizes, from the first.
size_t same_segments(const ReplayInput& input, const ReplayResult& result);

std::string replay_text(const ReplayReport& report);
nlohmann::ordered_json replay_json(const ReplayReport& report);

}  // namespace vramscope::analysis
