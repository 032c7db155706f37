// Driver-API wrappers: where every allocation is counted. Each calls the real
// function, then records what it did; a failed allocation is an event too.
#include "injector/driver_hooks.h"

#include "injector/recorder.h"

using namespace vramscope::inject;
using vramscope::trace::Api;
using vramscope::trace::MemoryKind;

namespace {

template <DriverFn fn, typename F>
F real() {
  return real_driver_as<F>(fn);
}

uint64_t address_of(CUdeviceptr p) { return static_cast<uint64_t>(p); }
uint64_t address_of(const void* p) { return reinterpret_cast<uint64_t>(p); }
template <typename Handle>
uint64_t handle_value(Handle h) {
  return reinterpret_cast<uint64_t>(h);
}

using AllocAsyncFn = CUresult(CUDAAPI*)(CUdeviceptr*, size_t, CUstream);
using FreeAsyncFn = CUresult(CUDAAPI*)(CUdeviceptr, CUstream);
using AllocFromPoolFn = CUresult(CUDAAPI*)(CUdeviceptr*, size_t, CUmemoryPool, CUstream);

CUresult alloc_async(DriverFn fn, CUdeviceptr* dptr, size_t bytesize, CUstream stream) {
  auto real_fn = real_driver_as<AllocAsyncFn>(fn);
  if (!real_fn) return CUDA_ERROR_NOT_INITIALIZED;
  DriverCall call;
  CUresult r = real_fn(dptr, bytesize, stream);
  if (!call.counted()) return r;
  if (r == CUDA_SUCCESS) {
    record_alloc(call.thread(), MemoryKind::AsyncPool, Api::cuMemAllocAsync, address_of(*dptr), bytesize, handle_value(stream));
  } else {
    record_failure(call.thread(), MemoryKind::AsyncPool, Api::cuMemAllocAsync, bytesize, r);
  }
  return r;
}

CUresult free_async(DriverFn fn, CUdeviceptr dptr, CUstream stream) {
  auto real_fn = real_driver_as<FreeAsyncFn>(fn);
  if (!real_fn) return CUDA_ERROR_NOT_INITIALIZED;
  uint64_t before = time_before_free();
  DriverCall call;
  CUresult r = real_fn(dptr, stream);
  if (call.counted() && r == CUDA_SUCCESS) {
    record_free(call.thread(), before, MemoryKind::AsyncPool, Api::cuMemFreeAsync, address_of(dptr), 0, handle_value(stream));
  }
  return r;
}

CUresult alloc_from_pool(DriverFn fn, CUdeviceptr* dptr, size_t bytesize, CUmemoryPool pool, CUstream stream) {
  auto real_fn = real_driver_as<AllocFromPoolFn>(fn);
  if (!real_fn) return CUDA_ERROR_NOT_INITIALIZED;
  DriverCall call;
  CUresult r = real_fn(dptr, bytesize, pool, stream);
  if (!call.counted()) return r;
  if (r == CUDA_SUCCESS) {
    record_alloc(call.thread(), MemoryKind::AsyncPool, Api::cuMemAllocFromPoolAsync, address_of(*dptr), bytesize,
                 handle_value(stream));
  } else {
    record_failure(call.thread(), MemoryKind::AsyncPool, Api::cuMemAllocFromPoolAsync, bytesize, r);
  }
  return r;
}

}  // namespace

#define VRAMSCOPE_REAL(name) real<DriverFn::name, decltype(&::name)>()

extern "C" {

CUresult CUDAAPI cuMemAlloc_v2(CUdeviceptr* dptr, size_t bytesize) {
  auto real_fn = VRAMSCOPE_REAL(cuMemAlloc_v2);
  if (!real_fn) return CUDA_ERROR_NOT_INITIALIZED;
  DriverCall call;
  CUresult r = real_fn(dptr, bytesize);
  if (!call.counted()) return r;
  if (r == CUDA_SUCCESS) {
    record_alloc(call.thread(), MemoryKind::Device, Api::cuMemAlloc, address_of(*dptr), bytesize);
  } else {
    record_failure(call.thread(), MemoryKind::Device, Api::cuMemAlloc, bytesize, r);
  }
  return r;
}

CUresult CUDAAPI cuMemAllocPitch_v2(CUdeviceptr* dptr, size_t* pitch, size_t width, size_t height,
                                    unsigned int element_bytes) {
  auto real_fn = VRAMSCOPE_REAL(cuMemAllocPitch_v2);
  if (!real_fn) return CUDA_ERROR_NOT_INITIALIZED;
  DriverCall call;
  CUresult r = real_fn(dptr, pitch, width, height, element_bytes);
  if (!call.counted()) return r;
  if (r == CUDA_SUCCESS) {
    record_alloc(call.thread(), MemoryKind::Device, Api::cuMemAllocPitch, address_of(*dptr), *pitch * height);
  } else {
    record_failure(call.thread(), MemoryKind::Device, Api::cuMemAllocPitch, width * height, r);
  }
  return r;
}

CUresult CUDAAPI cuMemFree_v2(CUdeviceptr dptr) {
  auto real_fn = VRAMSCOPE_REAL(cuMemFree_v2);
  if (!real_fn) return CUDA_ERROR_NOT_INITIALIZED;
  uint64_t before = time_before_free();
  DriverCall call;
  CUresult r = real_fn(dptr);
  if (call.counted() && r == CUDA_SUCCESS && dptr != 0) {
    record_free(call.thread(), before, MemoryKind::Device, Api::cuMemFree, address_of(dptr));
  }
  return r;
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
  auto real_fn = VRAMSCOPE_REAL(cuMemAllocManaged);
  if (!real_fn) return CUDA_ERROR_NOT_INITIALIZED;
  DriverCall call;
  CUresult r = real_fn(dptr, bytesize, flags);
  if (!call.counted()) return r;
  if (r == CUDA_SUCCESS) {
    record_alloc(call.thread(), MemoryKind::Managed, Api::cuMemAllocManaged, address_of(*dptr), bytesize);
  } else {
    record_failure(call.thread(), MemoryKind::Managed, Api::cuMemAllocManaged, bytesize, r);
  }
  return r;
}

CUresult CUDAAPI cuMemHostAlloc(void** pp, size_t bytesize, unsigned int flags) {
  auto real_fn = VRAMSCOPE_REAL(cuMemHostAlloc);
  if (!real_fn) return CUDA_ERROR_NOT_INITIALIZED;
  DriverCall call;
  CUresult r = real_fn(pp, bytesize, flags);
  if (!call.counted()) return r;
  if (r == CUDA_SUCCESS) {
    record_alloc(call.thread(), MemoryKind::PinnedHost, Api::cuMemHostAlloc, address_of(*pp), bytesize);
  } else {
    record_failure(call.thread(), MemoryKind::PinnedHost, Api::cuMemHostAlloc, bytesize, r);
  }
  return r;
}

CUresult CUDAAPI cuMemAllocHost_v2(void** pp, size_t bytesize) {
  auto real_fn = VRAMSCOPE_REAL(cuMemAllocHost_v2);
  if (!real_fn) return CUDA_ERROR_NOT_INITIALIZED;
  DriverCall call;
  CUresult r = real_fn(pp, bytesize);
  if (!call.counted()) return r;
  if (r == CUDA_SUCCESS) {
    record_alloc(call.thread(), MemoryKind::PinnedHost, Api::cuMemAllocHost, address_of(*pp), bytesize);
  } else {
    record_failure(call.thread(), MemoryKind::PinnedHost, Api::cuMemAllocHost, bytesize, r);
  }
  return r;
}

CUresult CUDAAPI cuMemFreeHost(void* p) {
  auto real_fn = VRAMSCOPE_REAL(cuMemFreeHost);
  if (!real_fn) return CUDA_ERROR_NOT_INITIALIZED;
  uint64_t before = time_before_free();
  DriverCall call;
  CUresult r = real_fn(p);
  if (call.counted() && r == CUDA_SUCCESS && p) record_free(call.thread(), before, MemoryKind::PinnedHost, Api::cuMemFreeHost, address_of(p));
  return r;
}

CUresult CUDAAPI cuMemHostRegister_v2(void* p, size_t bytesize, unsigned int flags) {
  auto real_fn = VRAMSCOPE_REAL(cuMemHostRegister_v2);
  if (!real_fn) return CUDA_ERROR_NOT_INITIALIZED;
  DriverCall call;
  CUresult r = real_fn(p, bytesize, flags);
  if (!call.counted()) return r;
  if (r == CUDA_SUCCESS) {
    record_alloc(call.thread(), MemoryKind::HostRegistered, Api::cuMemHostRegister, address_of(p), bytesize);
  } else {
    record_failure(call.thread(), MemoryKind::HostRegistered, Api::cuMemHostRegister, bytesize, r);
  }
  return r;
}

CUresult CUDAAPI cuMemHostUnregister(void* p) {
  auto real_fn = VRAMSCOPE_REAL(cuMemHostUnregister);
  if (!real_fn) return CUDA_ERROR_NOT_INITIALIZED;
  uint64_t before = time_before_free();
  DriverCall call;
  CUresult r = real_fn(p);
  if (call.counted() && r == CUDA_SUCCESS) {
    record_free(call.thread(), before, MemoryKind::HostRegistered, Api::cuMemHostUnregister, address_of(p));
  }
  return r;
}

CUresult CUDAAPI cuMemAddressReserve(CUdeviceptr* ptr, size_t size, size_t alignment, CUdeviceptr addr,
                                     unsigned long long flags) {
  auto real_fn = VRAMSCOPE_REAL(cuMemAddressReserve);
  if (!real_fn) return CUDA_ERROR_NOT_INITIALIZED;
  DriverCall call;
  CUresult r = real_fn(ptr, size, alignment, addr, flags);
  if (!call.counted()) return r;
  if (r == CUDA_SUCCESS) {
    record_alloc(call.thread(), MemoryKind::VirtualReserve, Api::cuMemAddressReserve, address_of(*ptr), size);
  } else {
    record_failure(call.thread(), MemoryKind::VirtualReserve, Api::cuMemAddressReserve, size, r);
  }
  return r;
}

CUresult CUDAAPI cuMemAddressFree(CUdeviceptr ptr, size_t size) {
  auto real_fn = VRAMSCOPE_REAL(cuMemAddressFree);
  if (!real_fn) return CUDA_ERROR_NOT_INITIALIZED;
  uint64_t before = time_before_free();
  DriverCall call;
  CUresult r = real_fn(ptr, size);
  if (call.counted() && r == CUDA_SUCCESS) {
    record_free(call.thread(), before, MemoryKind::VirtualReserve, Api::cuMemAddressFree, address_of(ptr), size);
  }
  return r;
}

CUresult CUDAAPI cuMemCreate(CUmemGenericAllocationHandle* handle, size_t size, const CUmemAllocationProp* prop,
                             unsigned long long flags) {
  auto real_fn = VRAMSCOPE_REAL(cuMemCreate);
  if (!real_fn) return CUDA_ERROR_NOT_INITIALIZED;
  DriverCall call;
  CUresult r = real_fn(handle, size, prop, flags);
  if (!call.counted()) return r;
  int device = prop && prop->location.type == CU_MEM_LOCATION_TYPE_DEVICE ? prop->location.id : kCurrentDevice;
  if (r == CUDA_SUCCESS) {
    record_alloc(call.thread(), MemoryKind::VirtualPhysical, Api::cuMemCreate, *handle, size, 0, device);
  } else {
    record_failure(call.thread(), MemoryKind::VirtualPhysical, Api::cuMemCreate, size, r, device);
  }
  return r;
}

CUresult CUDAAPI cuMemRelease(CUmemGenericAllocationHandle handle) {
  auto real_fn = VRAMSCOPE_REAL(cuMemRelease);
  if (!real_fn) return CUDA_ERROR_NOT_INITIALIZED;
  uint64_t before = time_before_free();
  DriverCall call;
  CUresult r = real_fn(handle);
  if (call.counted() && r == CUDA_SUCCESS) record_free(call.thread(), before, MemoryKind::VirtualPhysical, Api::cuMemRelease, handle);
  return r;
}

CUresult CUDAAPI cuMemMap(CUdeviceptr ptr, size_t size, size_t offset, CUmemGenericAllocationHandle handle,
                          unsigned long long flags) {
  auto real_fn = VRAMSCOPE_REAL(cuMemMap);
  if (!real_fn) return CUDA_ERROR_NOT_INITIALIZED;
  DriverCall call;
  CUresult r = real_fn(ptr, size, offset, handle, flags);
  if (!call.counted()) return r;
  if (r == CUDA_SUCCESS) {
    record_alloc(call.thread(), MemoryKind::VirtualMap, Api::cuMemMap, address_of(ptr), size);
  } else {
    record_failure(call.thread(), MemoryKind::VirtualMap, Api::cuMemMap, size, r);
  }
  return r;
}

CUresult CUDAAPI cuMemUnmap(CUdeviceptr ptr, size_t size) {
  auto real_fn = VRAMSCOPE_REAL(cuMemUnmap);
  if (!real_fn) return CUDA_ERROR_NOT_INITIALIZED;
  uint64_t before = time_before_free();
  DriverCall call;
  CUresult r = real_fn(ptr, size);
  if (call.counted() && r == CUDA_SUCCESS) record_free(call.thread(), before, MemoryKind::VirtualMap, Api::cuMemUnmap, address_of(ptr), size);
  return r;
}

CUresult CUDAAPI cuMemPoolCreate(CUmemoryPool* pool, const CUmemPoolProps* props) {
  auto real_fn = VRAMSCOPE_REAL(cuMemPoolCreate);
  if (!real_fn) return CUDA_ERROR_NOT_INITIALIZED;
  DriverCall call;
  CUresult r = real_fn(pool, props);
  if (call.counted() && r == CUDA_SUCCESS) {
    int device = props && props->location.type == CU_MEM_LOCATION_TYPE_DEVICE ? props->location.id : kCurrentDevice;
    record_alloc(call.thread(), MemoryKind::MemoryPool, Api::cuMemPoolCreate, handle_value(*pool), 0, 0, device);
  }
  return r;
}

CUresult CUDAAPI cuMemPoolDestroy(CUmemoryPool pool) {
  auto real_fn = VRAMSCOPE_REAL(cuMemPoolDestroy);
  if (!real_fn) return CUDA_ERROR_NOT_INITIALIZED;
  uint64_t before = time_before_free();
  DriverCall call;
  CUresult r = real_fn(pool);
  if (call.counted() && r == CUDA_SUCCESS) {
    record_free(call.thread(), before, MemoryKind::MemoryPool, Api::cuMemPoolDestroy, handle_value(pool));
  }
  return r;
}

CUresult CUDAAPI cuMemPoolTrimTo(CUmemoryPool pool, size_t keep_bytes) {
  auto real_fn = VRAMSCOPE_REAL(cuMemPoolTrimTo);
  if (!real_fn) return CUDA_ERROR_NOT_INITIALIZED;
  DriverCall call;
  CUresult r = real_fn(pool, keep_bytes);
  if (call.counted() && r == CUDA_SUCCESS) record_pool_trim(call.thread(), handle_value(pool), keep_bytes);
  return r;
}

}  // extern "C"
