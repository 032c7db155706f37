// Driver-API wrappers: where every allocation is counted. Each calls the real
// function, then records what it did; a failed allocation is an event too.
#include "injector/driver_hooks.h"

#include "injector/recorder.h"

using namespace vramscope::inject;
using vramscope::trace::Api;
using vramscope::trace::MemoryKind;

namespace {

uint64_t address_of(CUdeviceptr p) { return static_cast<uint64_t>(p); }
uint64_t address_of(const void* p) { return reinterpret_cast<uint64_t>(p); }
template <typename Handle>
uint64_t handle_value(Handle h) {
  return reinterpret_cast<uint64_t>(h);
}

// What an allocating call is about; `device` is the current one unless said.
struct Allocation {
  MemoryKind kind;
  Api api;
  uint64_t requested = 0;  // recorded when the call fails
  uint64_t stream = 0;
  int device = kCurrentDevice;
};

// Runs `call`; on success records the block `where()` gives ({address, size}),
// on failure the request and the error.
template <typename Call, typename Where>
CUresult allocating(const Allocation& a, Call&& call, Where&& where) {
  DriverCall driver;
  CUresult r = call();
  if (!driver.counted()) return r;
  if (r == CUDA_SUCCESS) {
    auto [address, size] = where();
    record_alloc(driver.thread(), a.kind, a.api, address, size, a.stream, a.device);
  } else {
    record_failure(driver.thread(), a.kind, a.api, a.requested, r, a.device);
  }
  return r;
}

// Runs `call` and records the free of `address` if it succeeded. `size` only
// for ranged frees (unmap, address free).
template <typename Call>
CUresult freeing(MemoryKind kind, Api api, uint64_t address, uint64_t size, uint64_t stream, Call&& call) {
  DriverCall driver;
  uint64_t before = time_before_free(driver.thread());
  CUresult r = call();
  if (driver.counted() && r == CUDA_SUCCESS && address != 0) {
    record_free(driver.thread(), before, kind, api, address, size, stream);
  }
  return r;
}

using AllocAsyncFn = CUresult(CUDAAPI*)(CUdeviceptr*, size_t, CUstream);
using FreeAsyncFn = CUresult(CUDAAPI*)(CUdeviceptr, CUstream);
using AllocFromPoolFn = CUresult(CUDAAPI*)(CUdeviceptr*, size_t, CUmemoryPool, CUstream);

CUresult alloc_async(DriverFn fn, CUdeviceptr* dptr, size_t bytesize, CUstream stream) {
  auto real_fn = real_driver_as<AllocAsyncFn>(fn);
  if (!real_fn) return CUDA_ERROR_NOT_INITIALIZED;
  return allocating({MemoryKind::AsyncPool, Api::cuMemAllocAsync, bytesize, handle_value(stream)},
                    [&] { return real_fn(dptr, bytesize, stream); },
                    [&] { return std::pair{address_of(*dptr), uint64_t{bytesize}}; });
}

CUresult free_async(DriverFn fn, CUdeviceptr dptr, CUstream stream) {
  auto real_fn = real_driver_as<FreeAsyncFn>(fn);
  if (!real_fn) return CUDA_ERROR_NOT_INITIALIZED;
  return freeing(MemoryKind::AsyncPool, Api::cuMemFreeAsync, address_of(dptr), 0, handle_value(stream),
                 [&] { return real_fn(dptr, stream); });
}

CUresult alloc_from_pool(DriverFn fn, CUdeviceptr* dptr, size_t bytesize, CUmemoryPool pool, CUstream stream) {
  auto real_fn = real_driver_as<AllocFromPoolFn>(fn);
  if (!real_fn) return CUDA_ERROR_NOT_INITIALIZED;
  return allocating({MemoryKind::AsyncPool, Api::cuMemAllocFromPoolAsync, bytesize, handle_value(stream)},
                    [&] { return real_fn(dptr, bytesize, pool, stream); },
                    [&] { return std::pair{address_of(*dptr), uint64_t{bytesize}}; });
}

}  // namespace

// The real function behind an exported wrapper, or a clean error when there
// is no driver at all.
#define VRAMSCOPE_REAL_OR_FAIL(name)                                    \
  auto real_fn = real_driver_as<decltype(&::name)>(DriverFn::name); \
  if (!real_fn) return CUDA_ERROR_NOT_INITIALIZED

#pragma GCC visibility push(default)  // the hooks are what the job links to
extern "C" {

CUresult CUDAAPI cuMemAlloc_v2(CUdeviceptr* dptr, size_t bytesize) {
  VRAMSCOPE_REAL_OR_FAIL(cuMemAlloc_v2);
  return allocating({MemoryKind::Device, Api::cuMemAlloc, bytesize}, [&] { return real_fn(dptr, bytesize); },
                    [&] { return std::pair{address_of(*dptr), uint64_t{bytesize}}; });
}

CUresult CUDAAPI cuMemAllocPitch_v2(CUdeviceptr* dptr, size_t* pitch, size_t width, size_t height,
                                    unsigned int element_bytes) {
  VRAMSCOPE_REAL_OR_FAIL(cuMemAllocPitch_v2);
  return allocating({MemoryKind::Device, Api::cuMemAllocPitch, width * height},
                    [&] { return real_fn(dptr, pitch, width, height, element_bytes); },
                    [&] { return std::pair{address_of(*dptr), uint64_t{*pitch * height}}; });
}

CUresult CUDAAPI cuMemFree_v2(CUdeviceptr dptr) {
  VRAMSCOPE_REAL_OR_FAIL(cuMemFree_v2);
  return freeing(MemoryKind::Device, Api::cuMemFree, address_of(dptr), 0, 0, [&] { return real_fn(dptr); });
}

CUresult CUDAAPI cuMemAllocAsync(CUdeviceptr* dptr, size_t bytesize, CUstream stream) {
  return alloc_async(DriverFn::cuMemAllocAsync, dptr, bytesize, stream);
}
CUresult CUDAAPI cuMemAllocAsync_ptsz(CUdeviceptr* dptr, size_t bytesize, CUstream stream) {
  return alloc_async(DriverFn::cuMemAllocAsync_ptsz, dptr, bytesize, stream);
}
CUresult CUDAAPI cuMemFreeAsync(CUdeviceptr dptr, CUstream stream) {
  return free_async(DriverFn::cuMemFreeAsync, dptr, stream);
}
CUresult CUDAAPI cuMemFreeAsync_ptsz(CUdeviceptr dptr, CUstream stream) {
  return free_async(DriverFn::cuMemFreeAsync_ptsz, dptr, stream);
}
CUresult CUDAAPI cuMemAllocFromPoolAsync(CUdeviceptr* dptr, size_t bytesize, CUmemoryPool pool, CUstream stream) {
  return alloc_from_pool(DriverFn::cuMemAllocFromPoolAsync, dptr, bytesize, pool, stream);
}
CUresult CUDAAPI cuMemAllocFromPoolAsync_ptsz(CUdeviceptr* dptr, size_t bytesize, CUmemoryPool pool,
                                              CUstream stream) {
  return alloc_from_pool(DriverFn::cuMemAllocFromPoolAsync_ptsz, dptr, bytesize, pool, stream);
}

CUresult CUDAAPI cuMemAllocManaged(CUdeviceptr* dptr, size_t bytesize, unsigned int flags) {
  VRAMSCOPE_REAL_OR_FAIL(cuMemAllocManaged);
  return allocating({MemoryKind::Managed, Api::cuMemAllocManaged, bytesize},
                    [&] { return real_fn(dptr, bytesize, flags); },
                    [&] { return std::pair{address_of(*dptr), uint64_t{bytesize}}; });
}

CUresult CUDAAPI cuMemHostAlloc(void** pp, size_t bytesize, unsigned int flags) {
  VRAMSCOPE_REAL_OR_FAIL(cuMemHostAlloc);
  return allocating({MemoryKind::PinnedHost, Api::cuMemHostAlloc, bytesize}, [&] { return real_fn(pp, bytesize, flags); },
                    [&] { return std::pair{address_of(*pp), uint64_t{bytesize}}; });
}

CUresult CUDAAPI cuMemAllocHost_v2(void** pp, size_t bytesize) {
  VRAMSCOPE_REAL_OR_FAIL(cuMemAllocHost_v2);
  return allocating({MemoryKind::PinnedHost, Api::cuMemAllocHost, bytesize}, [&] { return real_fn(pp, bytesize); },
                    [&] { return std::pair{address_of(*pp), uint64_t{bytesize}}; });
}

CUresult CUDAAPI cuMemFreeHost(void* p) {
  VRAMSCOPE_REAL_OR_FAIL(cuMemFreeHost);
  return freeing(MemoryKind::PinnedHost, Api::cuMemFreeHost, address_of(p), 0, 0, [&] { return real_fn(p); });
}

CUresult CUDAAPI cuMemHostRegister_v2(void* p, size_t bytesize, unsigned int flags) {
  VRAMSCOPE_REAL_OR_FAIL(cuMemHostRegister_v2);
  return allocating({MemoryKind::HostRegistered, Api::cuMemHostRegister, bytesize},
                    [&] { return real_fn(p, bytesize, flags); },
                    [&] { return std::pair{address_of(p), uint64_t{bytesize}}; });
}

CUresult CUDAAPI cuMemHostUnregister(void* p) {
  VRAMSCOPE_REAL_OR_FAIL(cuMemHostUnregister);
  return freeing(MemoryKind::HostRegistered, Api::cuMemHostUnregister, address_of(p), 0, 0,
                 [&] { return real_fn(p); });
}

CUresult CUDAAPI cuMemAddressReserve(CUdeviceptr* ptr, size_t size, size_t alignment, CUdeviceptr addr,
                                     unsigned long long flags) {
  VRAMSCOPE_REAL_OR_FAIL(cuMemAddressReserve);
  return allocating({MemoryKind::VirtualReserve, Api::cuMemAddressReserve, size},
                    [&] { return real_fn(ptr, size, alignment, addr, flags); },
                    [&] { return std::pair{address_of(*ptr), uint64_t{size}}; });
}

CUresult CUDAAPI cuMemAddressFree(CUdeviceptr ptr, size_t size) {
  VRAMSCOPE_REAL_OR_FAIL(cuMemAddressFree);
  return freeing(MemoryKind::VirtualReserve, Api::cuMemAddressFree, address_of(ptr), size, 0,
                 [&] { return real_fn(ptr, size); });
}

CUresult CUDAAPI cuMemCreate(CUmemGenericAllocationHandle* handle, size_t size, const CUmemAllocationProp* prop,
                             unsigned long long flags) {
  VRAMSCOPE_REAL_OR_FAIL(cuMemCreate);
  int device = prop && prop->location.type == CU_MEM_LOCATION_TYPE_DEVICE ? prop->location.id : kCurrentDevice;
  return allocating({MemoryKind::VirtualPhysical, Api::cuMemCreate, size, 0, device},
                    [&] { return real_fn(handle, size, prop, flags); },
                    [&] { return std::pair{uint64_t{*handle}, uint64_t{size}}; });
}

CUresult CUDAAPI cuMemRelease(CUmemGenericAllocationHandle handle) {
  VRAMSCOPE_REAL_OR_FAIL(cuMemRelease);
  return freeing(MemoryKind::VirtualPhysical, Api::cuMemRelease, handle, 0, 0, [&] { return real_fn(handle); });
}

CUresult CUDAAPI cuMemMap(CUdeviceptr ptr, size_t size, size_t offset, CUmemGenericAllocationHandle handle,
                          unsigned long long flags) {
  VRAMSCOPE_REAL_OR_FAIL(cuMemMap);
  return allocating({MemoryKind::VirtualMap, Api::cuMemMap, size},
                    [&] { return real_fn(ptr, size, offset, handle, flags); },
                    [&] { return std::pair{address_of(ptr), uint64_t{size}}; });
}

CUresult CUDAAPI cuMemUnmap(CUdeviceptr ptr, size_t size) {
  VRAMSCOPE_REAL_OR_FAIL(cuMemUnmap);
  return freeing(MemoryKind::VirtualMap, Api::cuMemUnmap, address_of(ptr), size, 0,
                 [&] { return real_fn(ptr, size); });
}

CUresult CUDAAPI cuMemPoolCreate(CUmemoryPool* pool, const CUmemPoolProps* props) {
  VRAMSCOPE_REAL_OR_FAIL(cuMemPoolCreate);
  int device = props && props->location.type == CU_MEM_LOCATION_TYPE_DEVICE ? props->location.id : kCurrentDevice;
  return allocating({MemoryKind::MemoryPool, Api::cuMemPoolCreate, 0, 0, device},
                    [&] { return real_fn(pool, props); }, [&] { return std::pair{handle_value(*pool), uint64_t{0}}; });
}

CUresult CUDAAPI cuMemPoolDestroy(CUmemoryPool pool) {
  VRAMSCOPE_REAL_OR_FAIL(cuMemPoolDestroy);
  return freeing(MemoryKind::MemoryPool, Api::cuMemPoolDestroy, handle_value(pool), 0, 0,
                 [&] { return real_fn(pool); });
}

CUresult CUDAAPI cuMemPoolTrimTo(CUmemoryPool pool, size_t keep_bytes) {
  VRAMSCOPE_REAL_OR_FAIL(cuMemPoolTrimTo);
  DriverCall driver;
  CUresult r = real_fn(pool, keep_bytes);
  if (driver.counted() && r == CUDA_SUCCESS) record_pool_trim(driver.thread(), handle_value(pool), keep_bytes);
  return r;
}

}  // extern "C"
#pragma GCC visibility pop
