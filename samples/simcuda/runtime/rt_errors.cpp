// cudaGetLastError, cudaPeekAtLastError, cudaGetErrorName, cudaGetErrorString.
#include "runtime_state.h"

namespace {

struct ErrorText {
  cudaError_t code;
  const char* name;
  const char* text;
};

#define SIMCUDART_ERROR(code, text) \
  { code, #code, text }

// The codes this runtime can return (its own and those mapped from the driver)
// and the common ones besides.
constexpr ErrorText kErrors[] = {
    SIMCUDART_ERROR(cudaSuccess, "no error"),
    SIMCUDART_ERROR(cudaErrorInvalidValue, "invalid argument"),
    SIMCUDART_ERROR(cudaErrorMemoryAllocation, "out of memory"),
    SIMCUDART_ERROR(cudaErrorInitializationError, "initialization error"),
    SIMCUDART_ERROR(cudaErrorCudartUnloading, "driver shutting down"),
    SIMCUDART_ERROR(cudaErrorInvalidConfiguration, "invalid configuration argument"),
    SIMCUDART_ERROR(cudaErrorInvalidPitchValue, "invalid pitch argument"),
    SIMCUDART_ERROR(cudaErrorInvalidSymbol, "invalid device symbol"),
    SIMCUDART_ERROR(cudaErrorInvalidHostPointer, "invalid host pointer"),
    SIMCUDART_ERROR(cudaErrorInvalidDevicePointer, "invalid device pointer"),
    SIMCUDART_ERROR(cudaErrorInvalidMemcpyDirection, "invalid copy direction for memcpy"),
    SIMCUDART_ERROR(cudaErrorStubLibrary, "CUDA driver is a stub library"),
    SIMCUDART_ERROR(cudaErrorInsufficientDriver,
                    "CUDA driver version is insufficient for CUDA runtime version"),
    SIMCUDART_ERROR(cudaErrorCallRequiresNewerDriver, "operation requires a newer driver"),
    SIMCUDART_ERROR(cudaErrorDevicesUnavailable, "CUDA-capable device(s) busy or unavailable"),
    SIMCUDART_ERROR(cudaErrorNoDevice, "no CUDA-capable device is detected"),
    SIMCUDART_ERROR(cudaErrorInvalidDevice, "invalid device ordinal"),
    SIMCUDART_ERROR(cudaErrorDeviceUninitialized, "invalid device context"),
    SIMCUDART_ERROR(cudaErrorMapBufferObjectFailed, "mapping of buffer object failed"),
    SIMCUDART_ERROR(cudaErrorUnmapBufferObjectFailed, "unmapping of buffer object failed"),
    SIMCUDART_ERROR(cudaErrorAlreadyMapped, "resource already mapped"),
    SIMCUDART_ERROR(cudaErrorNotMapped, "resource not mapped"),
    SIMCUDART_ERROR(cudaErrorFileNotFound, "file not found"),
    SIMCUDART_ERROR(cudaErrorOperatingSystem, "OS call failed or operation not supported on this OS"),
    SIMCUDART_ERROR(cudaErrorInvalidResourceHandle, "invalid resource handle"),
    SIMCUDART_ERROR(cudaErrorIllegalState, "the operation cannot be performed in the present state"),
    SIMCUDART_ERROR(cudaErrorSymbolNotFound, "named symbol not found"),
    SIMCUDART_ERROR(cudaErrorNotReady, "device not ready"),
    SIMCUDART_ERROR(cudaErrorIllegalAddress, "an illegal memory access was encountered"),
    SIMCUDART_ERROR(cudaErrorLaunchFailure, "unspecified launch failure"),
    SIMCUDART_ERROR(cudaErrorSetOnActiveProcess, "cannot set while device is active in this process"),
    SIMCUDART_ERROR(cudaErrorContextIsDestroyed, "context is destroyed"),
    SIMCUDART_ERROR(cudaErrorHostMemoryAlreadyRegistered,
                    "part or all of the requested memory range is already mapped"),
    SIMCUDART_ERROR(cudaErrorHostMemoryNotRegistered,
                    "pointer does not correspond to a registered memory region"),
    SIMCUDART_ERROR(cudaErrorNotPermitted, "operation not permitted"),
    SIMCUDART_ERROR(cudaErrorNotSupported, "operation not supported"),
    SIMCUDART_ERROR(cudaErrorSystemNotReady, "system not yet initialized"),
    SIMCUDART_ERROR(cudaErrorSystemDriverMismatch,
                    "system has unsupported display driver / cuda driver combination"),
    SIMCUDART_ERROR(cudaErrorTimeout, "wait operation timed out"),
    SIMCUDART_ERROR(cudaErrorUnknown, "unknown error"),
};

#undef SIMCUDART_ERROR

const ErrorText* find(int code) {
  for (const auto& e : kErrors) {
    if (e.code == code) return &e;
  }
  return nullptr;
}

constexpr const char* kUnrecognized = "unrecognized error code";

}  // namespace

namespace simcudart {

bool known_runtime_error(int code) { return find(code) != nullptr; }

}  // namespace simcudart

extern "C" {

cudaError_t CUDARTAPI cudaGetLastError(void) { return simcudart::take_last_error(); }

cudaError_t CUDARTAPI cudaPeekAtLastError(void) { return simcudart::peek_last_error(); }

const char* CUDARTAPI cudaGetErrorName(cudaError_t error) {
  const ErrorText* e = find(error);
  return e != nullptr ? e->name : kUnrecognized;
}

const char* CUDARTAPI cudaGetErrorString(cudaError_t error) {
  const ErrorText* e = find(error);
  return e != nullptr ? e->text : kUnrecognized;
}

}  // extern "C"
