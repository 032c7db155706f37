// The CUresult codes a memory call can plausibly return. Values from cuda.h;
// the table is kept here so that reports need no CUDA library at hand.
#include "analyzer/cuda_errors.h"

#include <array>
#include <utility>

namespace vramscope::analysis {

namespace {

constexpr std::array<std::pair<int32_t, const char*>, 20> kNames = {{
    {0, "CUDA_SUCCESS"},
    {1, "CUDA_ERROR_INVALID_VALUE"},
    {2, "CUDA_ERROR_OUT_OF_MEMORY"},
    {3, "CUDA_ERROR_NOT_INITIALIZED"},
    {4, "CUDA_ERROR_DEINITIALIZED"},
    {34, "CUDA_ERROR_STUB_LIBRARY"},
    {36, "CUDA_ERROR_CALL_REQUIRES_NEWER_DRIVER"},
    {46, "CUDA_ERROR_DEVICE_UNAVAILABLE"},
    {100, "CUDA_ERROR_NO_DEVICE"},
    {101, "CUDA_ERROR_INVALID_DEVICE"},
    {201, "CUDA_ERROR_INVALID_CONTEXT"},
    {304, "CUDA_ERROR_OPERATING_SYSTEM"},
    {400, "CUDA_ERROR_INVALID_HANDLE"},
    {401, "CUDA_ERROR_ILLEGAL_STATE"},
    {500, "CUDA_ERROR_NOT_FOUND"},
    {700, "CUDA_ERROR_ILLEGAL_ADDRESS"},
    {719, "CUDA_ERROR_LAUNCH_FAILED"},
    {800, "CUDA_ERROR_NOT_PERMITTED"},
    {801, "CUDA_ERROR_NOT_SUPPORTED"},
    {999, "CUDA_ERROR_UNKNOWN"},
}};

}  // namespace

std::string cuda_error_name(int32_t code) {
  for (const auto& [value, name] : kNames) {
    if (value == code) return name;
  }
  return "CUresult " + std::to_string(code);
}

bool is_out_of_memory(int32_t code) { return code == 0 || code == 2; }

}  // namespace vramscope::analysis
