// Where the real driver, runtime and libc functions are, behind our hooks.
#pragma once

#include <cuda.h>
// cuda.h maps cuGetProcAddress to _v2; we wrap both by their own names.
#undef cuGetProcAddress

#include <atomic>
#include <cstdint>

namespace vramscope::inject {

// The driver functions we wrap: exported name, name as cuGetProcAddress is
// asked for it, the first CUDA version that hands out this variant, and
// whether it is the per-thread-default-stream variant.
#define VRAMSCOPE_WRAPPED_DRIVER_FUNCTIONS(X)               \
  X(cuMemAlloc_v2, "cuMemAlloc", 3020, false)               \
  X(cuMemAllocPitch_v2, "cuMemAllocPitch", 3020, false)     \
  X(cuMemFree_v2, "cuMemFree", 3020, false)                 \
  X(cuMemAllocAsync, "cuMemAllocAsync", 11020, false)       \
  X(cuMemAllocAsync_ptsz, "cuMemAllocAsync", 11020, true)   \
  X(cuMemFreeAsync, "cuMemFreeAsync", 11020, false)         \
  X(cuMemFreeAsync_ptsz, "cuMemFreeAsync", 11020, true)     \
  X(cuMemAllocFromPoolAsync, "cuMemAllocFromPoolAsync", 11020, false)     \
  X(cuMemAllocFromPoolAsync_ptsz, "cuMemAllocFromPoolAsync", 11020, true) \
  X(cuMemAllocManaged, "cuMemAllocManaged", 6000, false)    \
  X(cuMemHostAlloc, "cuMemHostAlloc", 2020, false)          \
  X(cuMemAllocHost_v2, "cuMemAllocHost", 3020, false)       \
  X(cuMemFreeHost, "cuMemFreeHost", 2000, false)            \
  X(cuMemHostRegister_v2, "cuMemHostRegister", 6050, false) \
  X(cuMemHostUnregister, "cuMemHostUnregister", 4000, false)\
  X(cuMemAddressReserve, "cuMemAddressReserve", 10020, false) \
  X(cuMemAddressFree, "cuMemAddressFree", 10020, false)     \
  X(cuMemCreate, "cuMemCreate", 10020, false)               \
  X(cuMemRelease, "cuMemRelease", 10020, false)             \
  X(cuMemMap, "cuMemMap", 10020, false)                     \
  X(cuMemUnmap, "cuMemUnmap", 10020, false)                 \
  X(cuMemPoolCreate, "cuMemPoolCreate", 11020, false)       \
  X(cuMemPoolDestroy, "cuMemPoolDestroy", 11020, false)     \
  X(cuMemPoolTrimTo, "cuMemPoolTrimTo", 11020, false)       \
  X(cuGetProcAddress, "cuGetProcAddress", 11030, false)     \
  X(cuGetProcAddress_v2, "cuGetProcAddress", 12000, false)  \
  X(cuCtxSetCurrent, "cuCtxSetCurrent", 4000, false)        \
  X(cuCtxPushCurrent_v2, "cuCtxPushCurrent", 4000, false)   \
  X(cuCtxPopCurrent_v2, "cuCtxPopCurrent", 4000, false)     \
  X(cuCtxDestroy_v2, "cuCtxDestroy", 4000, false)           \
  X(cuCtxCreate_v4, "cuCtxCreate", 12050, false)

// Driver functions we only call.
#define VRAMSCOPE_HELPER_DRIVER_FUNCTIONS(X) \
  X(cuCtxGetDevice)                          \
  X(cuMemGetInfo_v2)                         \
  X(cuDeviceGet)                             \
  X(cuDeviceGetName)                         \
  X(cuDeviceTotalMem_v2)

enum class DriverFn : int {
#define VRAMSCOPE_ENUM(name, ...) name,
  VRAMSCOPE_WRAPPED_DRIVER_FUNCTIONS(VRAMSCOPE_ENUM) kWrappedCount,
  VRAMSCOPE_HELPER_DRIVER_FUNCTIONS(VRAMSCOPE_ENUM) kCount
#undef VRAMSCOPE_ENUM
};

// The real dlsym, found with dlvsym so our own dlsym is not called.
void* real_dlsym(void* handle, const char* name);

// The real driver function, looked up on first use: in the objects loaded
// after us, or in libcuda.so.1 if the runtime loaded it privately.
void* find_real_driver(DriverFn fn);
extern std::atomic<void*> g_real_driver[static_cast<int>(DriverFn::kCount)];
inline void* real_driver(DriverFn fn) {
  void* p = g_real_driver[static_cast<int>(fn)].load(std::memory_order_acquire);
  return p ? p : find_real_driver(fn);
}
template <typename F>
F real_driver_as(DriverFn fn) {
  return reinterpret_cast<F>(real_driver(fn));
}
// Records a real address handed out by dlsym or cuGetProcAddress.
void set_real_driver(DriverFn fn, void* address);

// Our wrapper for `fn`, and the wrapper standing in for `symbol` as
// cuGetProcAddress is asked for it (nullptr: not wrapped, pass the real one).
void* driver_wrapper(DriverFn fn);
void* wrapper_for_lookup(const char* symbol, int cuda_version, uint64_t flags);
// Our wrapper for an exported driver name ("cuMemAlloc_v2"), or nullptr.
void* wrapper_for_exported_name(const char* name, DriverFn* fn);

// The real runtime or libc function `name`: the next definition after us.
void* real_next(const char* name);

}  // namespace vramscope::inject
