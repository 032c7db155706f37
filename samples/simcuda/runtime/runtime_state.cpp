// Lazy start of the runtime, per-thread current device and last error, primary contexts.
#include "runtime_state.h"

#include <mutex>
#include <vector>

namespace simcudart {

namespace {

struct Runtime {
  DriverApi api;
  cudaError_t start_error = cudaSuccess;
  int device_count = 0;
  std::mutex mutex;                // guards primary
  std::vector<CUcontext> primary;  // retained primary context per device, or null
};

// Never destroyed: programs call the runtime from atexit handlers and late threads.
Runtime& state() {
  static Runtime* runtime = new Runtime();
  return *runtime;
}

// Made when the library loads, before any thread of the job: the first call
// then never races on the static's guard, whose fast path ThreadSanitizer
// cannot see in this uninstrumented library (scripts/tsan.sh).
__attribute__((constructor)) void make_runtime() { state(); }

cudaError_t start(Runtime& rt) {
  if (!load_driver(rt.api)) return cudaErrorInsufficientDriver;
  int version = 0;
  if (rt.api.driver_get_version(&version) != CUDA_SUCCESS || version < kRuntimeVersion) {
    return cudaErrorInsufficientDriver;
  }
  CUresult init = rt.api.init(0);
  if (init == CUDA_ERROR_NO_DEVICE) return cudaErrorNoDevice;
  if (init != CUDA_SUCCESS) return cudaErrorInitializationError;
  if (rt.api.device_get_count(&rt.device_count) != CUDA_SUCCESS) return cudaErrorInitializationError;
  rt.primary.assign(rt.device_count, nullptr);
  return cudaSuccess;
}

thread_local int tl_device = 0;
thread_local cudaError_t tl_last_error = cudaSuccess;

cudaError_t bind_primary(Runtime& rt, int device) {
  CUcontext context = nullptr;
  {
    std::lock_guard lock(rt.mutex);
    if (rt.primary[device] == nullptr) {
      CUresult result = rt.api.primary_ctx_retain(&rt.primary[device], device);
      if (result != CUDA_SUCCESS) return to_runtime_error(result);
    }
    context = rt.primary[device];
  }
  return to_runtime_error(rt.api.ctx_set_current(context));
}

}  // namespace

const DriverApi& driver() { return state().api; }

cudaError_t ready() {
  static std::once_flag once;
  Runtime& rt = state();
  std::call_once(once, [&rt] { rt.start_error = start(rt); });
  return rt.start_error;
}

cudaError_t ready_with_context() {
  if (cudaError_t error = ready()) return error;
  Runtime& rt = state();
  CUcontext current = nullptr;
  if (rt.api.ctx_get_current(&current) == CUDA_SUCCESS && current != nullptr) return cudaSuccess;
  return bind_primary(rt, tl_device);
}

int current_device() {
  CUcontext current = nullptr;
  CUdevice device = 0;
  const DriverApi& api = state().api;
  if (api.ctx_get_current(&current) == CUDA_SUCCESS && current != nullptr &&
      api.ctx_get_device(&device, current) == CUDA_SUCCESS) {
    return device;
  }
  return tl_device;
}

cudaError_t set_current_device(int device) {
  Runtime& rt = state();
  if (device < 0 || device >= rt.device_count) return cudaErrorInvalidDevice;
  tl_device = device;
  return bind_primary(rt, device);
}

cudaError_t reset_current_device() {
  Runtime& rt = state();
  int device = current_device();
  if (CUresult result = rt.api.primary_ctx_reset(device)) return to_runtime_error(result);
  std::lock_guard lock(rt.mutex);
  CUcontext current = nullptr;
  if (rt.api.ctx_get_current(&current) == CUDA_SUCCESS && current == rt.primary[device]) {
    rt.api.ctx_set_current(nullptr);
  }
  rt.primary[device] = nullptr;  // the next use retains it afresh
  return cudaSuccess;
}

int device_count() { return state().device_count; }

cudaError_t record(cudaError_t error) {
  if (error != cudaSuccess) tl_last_error = error;
  return error;
}

cudaError_t record(CUresult result) { return record(to_runtime_error(result)); }

cudaError_t peek_last_error() { return tl_last_error; }

cudaError_t take_last_error() {
  cudaError_t error = tl_last_error;
  tl_last_error = cudaSuccess;
  return error;
}

// The runtime's codes were numbered after the driver's: where both know a
// code, the numbers agree.
cudaError_t to_runtime_error(CUresult result) {
  if (result == CUDA_SUCCESS) return cudaSuccess;
  if (known_runtime_error(result)) return static_cast<cudaError_t>(result);
  return cudaErrorUnknown;
}

}  // namespace simcudart
