// The simulated GPU's configuration, read from VRAMSCOPE_SIM_* variables at cuInit.
#pragma once

#include <cuda.h>

#include <cstdint>

namespace simcuda {

struct SimConfig {
  int devices = 1;
  uint64_t capacity = uint64_t{16} << 30;    // per device
  uint64_t granularity = uint64_t{2} << 20;  // what every device allocation is rounded up to
  uint64_t other_process = 0;                // per device, held by "someone else"
};

// Reads the environment. A bad value prints one line to stderr and yields
// CUDA_ERROR_INVALID_VALUE, which cuInit then returns, as a broken driver would.
CUresult read_sim_config(SimConfig& config);

}  // namespace simcuda
