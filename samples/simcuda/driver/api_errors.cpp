// cuGetErrorName and cuGetErrorString.
#include "exported_names.h"

namespace {

struct ErrorText {
  CUresult code;
  const char* name;
  const char* text;
};

#define SIMCUDA_ERROR(code, text) \
  { code, #code, text }

// The codes a program can meet on this driver, and the common ones besides.
constexpr ErrorText kErrors[] = {
    SIMCUDA_ERROR(CUDA_SUCCESS, "no error"),
    SIMCUDA_ERROR(CUDA_ERROR_INVALID_VALUE, "invalid argument"),
    SIMCUDA_ERROR(CUDA_ERROR_OUT_OF_MEMORY, "out of memory"),
    SIMCUDA_ERROR(CUDA_ERROR_NOT_INITIALIZED, "initialization error"),
    SIMCUDA_ERROR(CUDA_ERROR_DEINITIALIZED, "driver shutting down"),
    SIMCUDA_ERROR(CUDA_ERROR_STUB_LIBRARY, "CUDA driver is a stub library"),
    SIMCUDA_ERROR(CUDA_ERROR_CALL_REQUIRES_NEWER_DRIVER, "operation requires a newer driver"),
    SIMCUDA_ERROR(CUDA_ERROR_DEVICE_UNAVAILABLE, "CUDA-capable device(s) busy or unavailable"),
    SIMCUDA_ERROR(CUDA_ERROR_NO_DEVICE, "no CUDA-capable device is detected"),
    SIMCUDA_ERROR(CUDA_ERROR_INVALID_DEVICE, "invalid device ordinal"),
    SIMCUDA_ERROR(CUDA_ERROR_INVALID_IMAGE, "device kernel image is invalid"),
    SIMCUDA_ERROR(CUDA_ERROR_INVALID_CONTEXT, "invalid device context"),
    SIMCUDA_ERROR(CUDA_ERROR_CONTEXT_ALREADY_CURRENT, "context already current"),
    SIMCUDA_ERROR(CUDA_ERROR_MAP_FAILED, "mapping of buffer object failed"),
    SIMCUDA_ERROR(CUDA_ERROR_UNMAP_FAILED, "unmapping of buffer object failed"),
    SIMCUDA_ERROR(CUDA_ERROR_ALREADY_MAPPED, "resource already mapped"),
    SIMCUDA_ERROR(CUDA_ERROR_NOT_MAPPED, "resource not mapped"),
    SIMCUDA_ERROR(CUDA_ERROR_INVALID_SOURCE, "device kernel image is invalid"),
    SIMCUDA_ERROR(CUDA_ERROR_FILE_NOT_FOUND, "file not found"),
    SIMCUDA_ERROR(CUDA_ERROR_OPERATING_SYSTEM, "OS call failed or operation not supported on this OS"),
    SIMCUDA_ERROR(CUDA_ERROR_INVALID_HANDLE, "invalid resource handle"),
    SIMCUDA_ERROR(CUDA_ERROR_ILLEGAL_STATE, "the operation cannot be performed in the present state"),
    SIMCUDA_ERROR(CUDA_ERROR_NOT_FOUND, "named symbol not found"),
    SIMCUDA_ERROR(CUDA_ERROR_NOT_READY, "device not ready"),
    SIMCUDA_ERROR(CUDA_ERROR_ILLEGAL_ADDRESS, "an illegal memory access was encountered"),
    SIMCUDA_ERROR(CUDA_ERROR_LAUNCH_FAILED, "unspecified launch failure"),
    SIMCUDA_ERROR(CUDA_ERROR_PRIMARY_CONTEXT_ACTIVE,
                  "primary context for the specified device has already been initialized"),
    SIMCUDA_ERROR(CUDA_ERROR_CONTEXT_IS_DESTROYED, "context is destroyed"),
    SIMCUDA_ERROR(CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED,
                  "part or all of the requested memory range is already mapped"),
    SIMCUDA_ERROR(CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED,
                  "pointer does not correspond to a registered memory region"),
    SIMCUDA_ERROR(CUDA_ERROR_NOT_PERMITTED, "operation not permitted"),
    SIMCUDA_ERROR(CUDA_ERROR_NOT_SUPPORTED, "operation not supported"),
    SIMCUDA_ERROR(CUDA_ERROR_SYSTEM_NOT_READY, "system not yet initialized"),
    SIMCUDA_ERROR(CUDA_ERROR_SYSTEM_DRIVER_MISMATCH,
                  "system has unsupported display driver / cuda driver combination"),
    SIMCUDA_ERROR(CUDA_ERROR_TIMEOUT, "wait operation timed out"),
    SIMCUDA_ERROR(CUDA_ERROR_UNKNOWN, "unknown error"),
};

#undef SIMCUDA_ERROR

const ErrorText* find(CUresult code) {
  for (const auto& e : kErrors) {
    if (e.code == code) return &e;
  }
  return nullptr;
}

}  // namespace

extern "C" {

CUresult CUDAAPI cuGetErrorName(CUresult error, const char** pStr) {
  if (pStr == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const ErrorText* e = find(error);
  *pStr = e != nullptr ? e->name : nullptr;
  return e != nullptr ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

CUresult CUDAAPI cuGetErrorString(CUresult error, const char** pStr) {
  if (pStr == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const ErrorText* e = find(error);
  *pStr = e != nullptr ? e->text : nullptr;
  return e != nullptr ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

}  // extern "C"
