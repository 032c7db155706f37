// The driver functions simcuda's runtime calls, found the way the real runtime
// finds them: dlopen("libcuda.so.1"), dlsym("cuGetProcAddress_v2"), then every
// function by its base name through cuGetProcAddress_v2 for CUDA 13.0.
#pragma once

#include <cuda.h>

namespace simcudart {

// The CUDA version this runtime was built for and asks the driver for.
constexpr int kRuntimeVersion = 13000;

struct DriverApi {
  decltype(&cuGetProcAddress_v2) get_proc_address = nullptr;  // the one function found by dlsym
  decltype(&cuInit) init = nullptr;
  decltype(&cuDriverGetVersion) driver_get_version = nullptr;
  decltype(&cuDeviceGet) device_get = nullptr;
  decltype(&cuDeviceGetCount) device_get_count = nullptr;
  decltype(&cuDeviceGetName) device_get_name = nullptr;
  decltype(&cuDeviceTotalMem_v2) device_total_mem = nullptr;
  decltype(&cuDeviceGetAttribute) device_get_attribute = nullptr;
  decltype(&cuDeviceGetUuid_v2) device_get_uuid = nullptr;
  decltype(&cuDevicePrimaryCtxRetain) primary_ctx_retain = nullptr;
  decltype(&cuDevicePrimaryCtxReset_v2) primary_ctx_reset = nullptr;
  decltype(&cuCtxGetCurrent) ctx_get_current = nullptr;
  decltype(&cuCtxSetCurrent) ctx_set_current = nullptr;
  decltype(&cuCtxGetDevice_v2) ctx_get_device = nullptr;     // "cuCtxGetDevice" at 13000 takes a context
  decltype(&cuCtxSynchronize_v2) ctx_synchronize = nullptr;  // likewise

  decltype(&cuMemAlloc_v2) mem_alloc = nullptr;
  decltype(&cuMemAllocPitch_v2) mem_alloc_pitch = nullptr;
  decltype(&cuMemFree_v2) mem_free = nullptr;
  decltype(&cuMemGetInfo_v2) mem_get_info = nullptr;
  decltype(&cuMemAllocManaged) mem_alloc_managed = nullptr;
  decltype(&cuMemAllocHost_v2) mem_alloc_host = nullptr;
  decltype(&cuMemHostAlloc) mem_host_alloc = nullptr;
  decltype(&cuMemFreeHost) mem_free_host = nullptr;
  decltype(&cuMemHostRegister_v2) mem_host_register = nullptr;
  decltype(&cuMemHostUnregister) mem_host_unregister = nullptr;
  decltype(&cuMemHostGetDevicePointer_v2) mem_host_get_device_pointer = nullptr;
  decltype(&cuMemPoolCreate) mem_pool_create = nullptr;
  decltype(&cuMemPoolDestroy) mem_pool_destroy = nullptr;
  decltype(&cuMemPoolTrimTo) mem_pool_trim_to = nullptr;
  decltype(&cuDeviceGetDefaultMemPool) device_get_default_mem_pool = nullptr;

  decltype(&cuStreamCreate) stream_create = nullptr;
  decltype(&cuStreamCreateWithPriority) stream_create_with_priority = nullptr;
  decltype(&cuStreamDestroy_v2) stream_destroy = nullptr;
  decltype(&cuEventCreate) event_create = nullptr;
  decltype(&cuEventSynchronize) event_synchronize = nullptr;
  decltype(&cuEventQuery) event_query = nullptr;
  decltype(&cuEventDestroy_v2) event_destroy = nullptr;
  decltype(&cuEventElapsedTime_v2) event_elapsed_time = nullptr;

  // Functions that come in a legacy-stream and a per-thread-stream form:
  // [0] for cudaX, [1] for cudaX_ptsz / cudaX_ptds.
  decltype(&cuMemAllocAsync) mem_alloc_async[2] = {};
  decltype(&cuMemFreeAsync) mem_free_async[2] = {};
  decltype(&cuMemAllocFromPoolAsync) mem_alloc_from_pool_async[2] = {};
  decltype(&cuStreamSynchronize) stream_synchronize[2] = {};
  decltype(&cuStreamQuery) stream_query[2] = {};
  decltype(&cuEventRecord) event_record[2] = {};
  decltype(&cuMemcpy) memcpy[2] = {};
  decltype(&cuMemcpyAsync) memcpy_async[2] = {};
  decltype(&cuMemsetD8_v2) memset_d8[2] = {};
  decltype(&cuMemsetD8Async) memset_d8_async[2] = {};
};

// Index into the two-form arrays above.
enum StreamFlavour { kLegacyStream = 0, kPerThreadStream = 1 };

// Loads the driver and fills api. False when libcuda.so.1, cuGetProcAddress_v2
// or any function above cannot be had.
bool load_driver(DriverApi& api);

}  // namespace simcudart
