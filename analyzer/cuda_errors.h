// Names of the CUDA driver's error codes (CUresult), for reports.
#pragma once

#include <cstdint>
#include <string>

namespace vramscope::analysis {

// "CUDA_ERROR_OUT_OF_MEMORY" for 2; "CUresult 12345" for a code not in the table.
std::string cuda_error_name(int32_t code);

}  // namespace vramscope::analysis
