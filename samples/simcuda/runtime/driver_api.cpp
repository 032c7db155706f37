// Loading libcuda.so.1 and resolving the runtime's driver functions through cuGetProcAddress_v2.
#include "driver_api.h"

#include <dlfcn.h>

namespace simcudart {

namespace {

class Resolver {
 public:
  explicit Resolver(decltype(&cuGetProcAddress_v2) get_proc_address) : get_proc_address_(get_proc_address) {}

  template <typename Function>
  void operator()(const char* base, Function& out, cuuint64_t flags = CU_GET_PROC_ADDRESS_LEGACY_STREAM) {
    void* pointer = nullptr;
    CUdriverProcAddressQueryResult status = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
    CUresult result = get_proc_address_(base, &pointer, kRuntimeVersion, flags, &status);
    if (result != CUDA_SUCCESS || status != CU_GET_PROC_ADDRESS_SUCCESS || pointer == nullptr)
      complete_ = false;
    out = reinterpret_cast<Function>(pointer);
  }

  // Both forms of a function that has a per-thread default stream variant.
  template <typename Function>
  void both(const char* base, Function (&out)[2]) {
    (*this)(base, out[kLegacyStream], CU_GET_PROC_ADDRESS_LEGACY_STREAM);
    (*this)(base, out[kPerThreadStream], CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM);
  }

  bool complete() const { return complete_; }

 private:
  decltype(&cuGetProcAddress_v2) get_proc_address_;
  bool complete_ = true;
};

}  // namespace

bool load_driver(DriverApi& api) {
  void* handle = dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
  if (handle == nullptr) return false;
  api.get_proc_address =
      reinterpret_cast<decltype(&cuGetProcAddress_v2)>(dlsym(handle, "cuGetProcAddress_v2"));
  if (api.get_proc_address == nullptr) return false;

  Resolver resolve(api.get_proc_address);
  resolve("cuInit", api.init);
  resolve("cuDriverGetVersion", api.driver_get_version);
  resolve("cuDeviceGet", api.device_get);
  resolve("cuDeviceGetCount", api.device_get_count);
  resolve("cuDeviceGetName", api.device_get_name);
  resolve("cuDeviceTotalMem", api.device_total_mem);
  resolve("cuDeviceGetAttribute", api.device_get_attribute);
  resolve("cuDeviceGetUuid", api.device_get_uuid);
  resolve("cuDevicePrimaryCtxRetain", api.primary_ctx_retain);
  resolve("cuDevicePrimaryCtxReset", api.primary_ctx_reset);
  resolve("cuCtxGetCurrent", api.ctx_get_current);
  resolve("cuCtxSetCurrent", api.ctx_set_current);
  resolve("cuCtxGetDevice", api.ctx_get_device);
  resolve("cuCtxSynchronize", api.ctx_synchronize);

  resolve("cuMemAlloc", api.mem_alloc);
  resolve("cuMemAllocPitch", api.mem_alloc_pitch);
  resolve("cuMemFree", api.mem_free);
  resolve("cuMemGetInfo", api.mem_get_info);
  resolve("cuMemAllocManaged", api.mem_alloc_managed);
  resolve("cuMemAllocHost", api.mem_alloc_host);
  resolve("cuMemHostAlloc", api.mem_host_alloc);
  resolve("cuMemFreeHost", api.mem_free_host);
  resolve("cuMemHostRegister", api.mem_host_register);
  resolve("cuMemHostUnregister", api.mem_host_unregister);
  resolve("cuMemHostGetDevicePointer", api.mem_host_get_device_pointer);
  resolve("cuMemPoolCreate", api.mem_pool_create);
  resolve("cuMemPoolDestroy", api.mem_pool_destroy);
  resolve("cuMemPoolTrimTo", api.mem_pool_trim_to);
  resolve("cuDeviceGetDefaultMemPool", api.device_get_default_mem_pool);

  resolve("cuStreamCreate", api.stream_create);
  resolve("cuStreamCreateWithPriority", api.stream_create_with_priority);
  resolve("cuStreamDestroy", api.stream_destroy);
  resolve("cuEventCreate", api.event_create);
  resolve("cuEventSynchronize", api.event_synchronize);
  resolve("cuEventQuery", api.event_query);
  resolve("cuEventDestroy", api.event_destroy);
  resolve("cuEventElapsedTime", api.event_elapsed_time);

  resolve.both("cuMemAllocAsync", api.mem_alloc_async);
  resolve.both("cuMemFreeAsync", api.mem_free_async);
  resolve.both("cuMemAllocFromPoolAsync", api.mem_alloc_from_pool_async);
  resolve.both("cuStreamSynchronize", api.stream_synchronize);
  resolve.both("cuStreamQuery", api.stream_query);
  resolve.both("cuEventRecord", api.event_record);
  resolve.both("cuMemcpy", api.memcpy);
  resolve.both("cuMemcpyAsync", api.memcpy_async);
  resolve.both("cuMemsetD8", api.memset_d8);
  resolve.both("cuMemsetD8Async", api.memset_d8_async);
  return resolve.complete();
}

}  // namespace simcudart
