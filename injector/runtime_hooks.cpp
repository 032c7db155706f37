// Runtime-API wrappers. They only say who asked: the driver wrappers count,
// and an event made while a runtime call is in progress carries its name.
// When the runtime reached the driver some way we do not see, the event is
// recorded here instead, so one call is always one event.
#include <cuda_runtime_api.h>

#include "injector/real_functions.h"
#include "injector/recorder.h"

using namespace vramscope::inject;
using vramscope::trace::Api;
using vramscope::trace::MemoryKind;

#pragma GCC visibility push(default)  // the hooks are what the job links to
extern "C" {
cudaError_t CUDARTAPI cudaMallocAsync_ptsz(void** ptr, size_t size, cudaStream_t stream);
cudaError_t CUDARTAPI cudaFreeAsync_ptsz(void* ptr, cudaStream_t stream);
cudaError_t CUDARTAPI cudaMallocFromPoolAsync_ptsz(void** ptr, size_t size, cudaMemPool_t pool, cudaStream_t stream);
cudaError_t CUDARTAPI cudaGetDriverEntryPoint_ptsz(const char* symbol, void** fn, unsigned long long flags,
                                                   cudaDriverEntryPointQueryResult* status);
cudaError_t CUDARTAPI cudaGetDriverEntryPointByVersion_ptsz(const char* symbol, void** fn, unsigned int version,
                                                            unsigned long long flags,
                                                            cudaDriverEntryPointQueryResult* status);
}
#pragma GCC visibility pop

namespace {

constexpr cudaError_t kNoRuntime = cudaErrorInsufficientDriver;

uint64_t address_of(const void* p) { return reinterpret_cast<uint64_t>(p); }
uint64_t handle_value(const void* h) { return reinterpret_cast<uint64_t>(h); }

// One allocation through the runtime: `call()` runs the real function; on
// success `*out` and `size` describe the block.
template <typename Call>
cudaError_t runtime_alloc(Api via, MemoryKind kind, void* const* out, size_t size, uint64_t stream, Call&& call) {
  RuntimeCall runtime(via);
  cudaError_t r = call();
  if (runtime.driver_silent()) {
    if (r == cudaSuccess) {
      record_alloc(runtime.thread(), kind, Api::None, address_of(*out), size, stream);
    } else {
      record_failure(runtime.thread(), kind, Api::None, size, r);
    }
  }
  return r;
}

template <typename Call>
cudaError_t runtime_free(Api via, MemoryKind kind, const void* p, uint64_t stream, Call&& call) {
  uint64_t before = time_before_free();
  RuntimeCall runtime(via);
  // The driver free inside takes this stamp too: one clock read per free.
  ThreadState* ts = runtime.thread();
  uint64_t outer_stamp = ts ? ts->free_stamp : 0;
  if (ts) ts->free_stamp = before;
  cudaError_t r = call();
  if (ts) ts->free_stamp = outer_stamp;
  if (r == cudaSuccess && p && runtime.driver_silent()) record_free(runtime.thread(), before, kind, Api::None, address_of(p), 0, stream);
  return r;
}

// Runtime calls that make no allocation of their own; only attribution.
template <typename Call>
cudaError_t attributed(Api via, Call&& call) {
  RuntimeCall runtime(via);
  return call();
}

void wrap_entry_point(cudaError_t r, const char* symbol, void** fn, int version, unsigned long long flags) {
  if (r != cudaSuccess || !fn || !*fn) return;
  if (void* wrapper = wrapper_for_lookup(symbol, version, flags)) *fn = wrapper;
}

}  // namespace

#define VRAMSCOPE_REAL_RUNTIME(name)                                                 \
  static auto real_fn = reinterpret_cast<decltype(&::name)>(real_next(#name)); \
  if (!real_fn) return kNoRuntime

#pragma GCC visibility push(default)  // the hooks are what the job links to
extern "C" {

cudaError_t CUDARTAPI cudaMalloc(void** ptr, size_t size) {
  VRAMSCOPE_REAL_RUNTIME(cudaMalloc);
  return runtime_alloc(Api::cudaMalloc, MemoryKind::Device, ptr, size, 0, [&] { return real_fn(ptr, size); });
}

cudaError_t CUDARTAPI cudaMallocPitch(void** ptr, size_t* pitch, size_t width, size_t height) {
  VRAMSCOPE_REAL_RUNTIME(cudaMallocPitch);
  RuntimeCall runtime(Api::cudaMallocPitch);
  cudaError_t r = real_fn(ptr, pitch, width, height);
  if (runtime.driver_silent()) {
    if (r == cudaSuccess) {
      record_alloc(runtime.thread(), MemoryKind::Device, Api::None, address_of(*ptr), *pitch * height);
    } else {
      record_failure(runtime.thread(), MemoryKind::Device, Api::None, width * height, r);
    }
  }
  return r;
}

cudaError_t CUDARTAPI cudaMalloc3D(cudaPitchedPtr* pitched, cudaExtent extent) {
  VRAMSCOPE_REAL_RUNTIME(cudaMalloc3D);
  RuntimeCall runtime(Api::cudaMalloc3D);
  cudaError_t r = real_fn(pitched, extent);
  if (runtime.driver_silent()) {
    if (r == cudaSuccess) {
      record_alloc(runtime.thread(), MemoryKind::Device, Api::None, address_of(pitched->ptr), pitched->pitch * extent.height * extent.depth);
    } else {
      record_failure(runtime.thread(), MemoryKind::Device, Api::None, extent.width * extent.height * extent.depth, r);
    }
  }
  return r;
}

cudaError_t CUDARTAPI cudaFree(void* ptr) {
  VRAMSCOPE_REAL_RUNTIME(cudaFree);
  return runtime_free(Api::cudaFree, MemoryKind::Device, ptr, 0, [&] { return real_fn(ptr); });
}

cudaError_t CUDARTAPI cudaMallocAsync(void** ptr, size_t size, cudaStream_t stream) {
  VRAMSCOPE_REAL_RUNTIME(cudaMallocAsync);
  return runtime_alloc(Api::cudaMallocAsync, MemoryKind::AsyncPool, ptr, size, handle_value(stream),
                       [&] { return real_fn(ptr, size, stream); });
}

cudaError_t CUDARTAPI cudaMallocAsync_ptsz(void** ptr, size_t size, cudaStream_t stream) {
  VRAMSCOPE_REAL_RUNTIME(cudaMallocAsync_ptsz);
  return runtime_alloc(Api::cudaMallocAsync, MemoryKind::AsyncPool, ptr, size, handle_value(stream),
                       [&] { return real_fn(ptr, size, stream); });
}

cudaError_t CUDARTAPI cudaFreeAsync(void* ptr, cudaStream_t stream) {
  VRAMSCOPE_REAL_RUNTIME(cudaFreeAsync);
  return runtime_free(Api::cudaFreeAsync, MemoryKind::AsyncPool, ptr, handle_value(stream),
                      [&] { return real_fn(ptr, stream); });
}

cudaError_t CUDARTAPI cudaFreeAsync_ptsz(void* ptr, cudaStream_t stream) {
  VRAMSCOPE_REAL_RUNTIME(cudaFreeAsync_ptsz);
  return runtime_free(Api::cudaFreeAsync, MemoryKind::AsyncPool, ptr, handle_value(stream),
                      [&] { return real_fn(ptr, stream); });
}

cudaError_t CUDARTAPI cudaMallocFromPoolAsync(void** ptr, size_t size, cudaMemPool_t pool, cudaStream_t stream) {
  VRAMSCOPE_REAL_RUNTIME(cudaMallocFromPoolAsync);
  return runtime_alloc(Api::cudaMallocFromPoolAsync, MemoryKind::AsyncPool, ptr, size, handle_value(stream),
                       [&] { return real_fn(ptr, size, pool, stream); });
}

cudaError_t CUDARTAPI cudaMallocFromPoolAsync_ptsz(void** ptr, size_t size, cudaMemPool_t pool,
                                                   cudaStream_t stream) {
  VRAMSCOPE_REAL_RUNTIME(cudaMallocFromPoolAsync_ptsz);
  return runtime_alloc(Api::cudaMallocFromPoolAsync, MemoryKind::AsyncPool, ptr, size, handle_value(stream),
                       [&] { return real_fn(ptr, size, pool, stream); });
}

cudaError_t CUDARTAPI cudaMallocManaged(void** ptr, size_t size, unsigned int flags) {
  VRAMSCOPE_REAL_RUNTIME(cudaMallocManaged);
  return runtime_alloc(Api::cudaMallocManaged, MemoryKind::Managed, ptr, size, 0,
                       [&] { return real_fn(ptr, size, flags); });
}

cudaError_t CUDARTAPI cudaMallocHost(void** ptr, size_t size) {
  VRAMSCOPE_REAL_RUNTIME(cudaMallocHost);
  return runtime_alloc(Api::cudaMallocHost, MemoryKind::PinnedHost, ptr, size, 0, [&] { return real_fn(ptr, size); });
}

cudaError_t CUDARTAPI cudaHostAlloc(void** ptr, size_t size, unsigned int flags) {
  VRAMSCOPE_REAL_RUNTIME(cudaHostAlloc);
  return runtime_alloc(Api::cudaHostAlloc, MemoryKind::PinnedHost, ptr, size, 0,
                       [&] { return real_fn(ptr, size, flags); });
}

cudaError_t CUDARTAPI cudaFreeHost(void* ptr) {
  VRAMSCOPE_REAL_RUNTIME(cudaFreeHost);
  return runtime_free(Api::cudaFreeHost, MemoryKind::PinnedHost, ptr, 0, [&] { return real_fn(ptr); });
}

cudaError_t CUDARTAPI cudaHostRegister(void* ptr, size_t size, unsigned int flags) {
  VRAMSCOPE_REAL_RUNTIME(cudaHostRegister);
  void* const out = ptr;
  return runtime_alloc(Api::cudaHostRegister, MemoryKind::HostRegistered, &out, size, 0,
                       [&] { return real_fn(ptr, size, flags); });
}

cudaError_t CUDARTAPI cudaHostUnregister(void* ptr) {
  VRAMSCOPE_REAL_RUNTIME(cudaHostUnregister);
  return runtime_free(Api::cudaHostUnregister, MemoryKind::HostRegistered, ptr, 0, [&] { return real_fn(ptr); });
}

cudaError_t CUDARTAPI cudaMemPoolCreate(cudaMemPool_t* pool, const cudaMemPoolProps* props) {
  VRAMSCOPE_REAL_RUNTIME(cudaMemPoolCreate);
  return attributed(Api::cudaMemPoolCreate, [&] { return real_fn(pool, props); });
}

cudaError_t CUDARTAPI cudaMemPoolDestroy(cudaMemPool_t pool) {
  VRAMSCOPE_REAL_RUNTIME(cudaMemPoolDestroy);
  return attributed(Api::cudaMemPoolDestroy, [&] { return real_fn(pool); });
}

cudaError_t CUDARTAPI cudaMemPoolTrimTo(cudaMemPool_t pool, size_t keep_bytes) {
  VRAMSCOPE_REAL_RUNTIME(cudaMemPoolTrimTo);
  return attributed(Api::cudaMemPoolTrimTo, [&] { return real_fn(pool, keep_bytes); });
}

cudaError_t CUDARTAPI cudaGetDriverEntryPoint(const char* symbol, void** fn, unsigned long long flags,
                                              cudaDriverEntryPointQueryResult* status) {
  VRAMSCOPE_REAL_RUNTIME(cudaGetDriverEntryPoint);
  cudaError_t r = real_fn(symbol, fn, flags, status);
  wrap_entry_point(r, symbol, fn, CUDART_VERSION, flags);
  return r;
}

cudaError_t CUDARTAPI cudaGetDriverEntryPoint_ptsz(const char* symbol, void** fn, unsigned long long flags,
                                                   cudaDriverEntryPointQueryResult* status) {
  VRAMSCOPE_REAL_RUNTIME(cudaGetDriverEntryPoint_ptsz);
  cudaError_t r = real_fn(symbol, fn, flags, status);
  wrap_entry_point(r, symbol, fn, CUDART_VERSION, flags);
  return r;
}

cudaError_t CUDARTAPI cudaGetDriverEntryPointByVersion(const char* symbol, void** fn, unsigned int version,
                                                       unsigned long long flags,
                                                       cudaDriverEntryPointQueryResult* status) {
  VRAMSCOPE_REAL_RUNTIME(cudaGetDriverEntryPointByVersion);
  cudaError_t r = real_fn(symbol, fn, version, flags, status);
  wrap_entry_point(r, symbol, fn, static_cast<int>(version), flags);
  return r;
}

cudaError_t CUDARTAPI cudaGetDriverEntryPointByVersion_ptsz(const char* symbol, void** fn, unsigned int version,
                                                            unsigned long long flags,
                                                            cudaDriverEntryPointQueryResult* status) {
  VRAMSCOPE_REAL_RUNTIME(cudaGetDriverEntryPointByVersion_ptsz);
  cudaError_t r = real_fn(symbol, fn, version, flags, status);
  wrap_entry_point(r, symbol, fn, static_cast<int>(version), flags);
  return r;
}

}  // extern "C"
#pragma GCC visibility pop
