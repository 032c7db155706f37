// Names of the CUDA driver's error codes (CUresult), for reports.
#pragma once

#include <cstdint>
#include <string>

namespace vramscope::analysis {

// "CUDA_ERROR_OUT_OF_MEMORY" for 2; "CUresult 12345" for a code not in the table.
std::string cuda_error_name(int32_t code);

// Whether a failed allocation's error means the memory ran out:
// CUDA_ERROR_OUT_OF_MEMORY (the runtime's cudaErrorMemoryAllocation is the same
// 2), or 0 where the trace has no code.
bool is_out_of_memory(int32_t code);

}  // namespace vramscope::analysis
