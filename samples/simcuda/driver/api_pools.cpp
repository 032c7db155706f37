// Stream-ordered allocation and memory pools. Frees take effect at once: the
// simulated GPU has no queue, so "when the stream gets there" is now.
#include "exported_names.h"
#include "sim_state.h"

using simcuda::check_initialized;
using simcuda::Kind;
using simcuda::require_context;
using simcuda::sim;
using simcuda::valid_device;

namespace {

// A pool allocations may come from: a device's default pool or a live created one.
bool usable_pool_locked(CUmemoryPool pool) {
  auto& s = sim();
  if (pool == nullptr) return false;
  for (auto& device : s.devices) {
    if (&device.default_pool == pool) return true;
  }
  return s.pools.count(pool) != 0 && !pool->destroyed;
}

int stream_device_locked(CUstream stream, CUctx_st* context) {
  bool created = stream != nullptr && stream != CU_STREAM_LEGACY && stream != CU_STREAM_PER_THREAD;
  return created ? stream->device : context->device;
}

CUresult allocate_async(CUdeviceptr* dptr, size_t bytesize, CUmemoryPool pool, CUstream stream) {
  CUctx_st* context = nullptr;
  if (CUresult r = require_context(context)) return r;
  if (dptr == nullptr || bytesize == 0) return CUDA_ERROR_INVALID_VALUE;
  auto& s = sim();
  std::lock_guard lock(s.mutex);
  if (!simcuda::valid_stream_locked(stream)) return CUDA_ERROR_INVALID_HANDLE;
  if (pool == nullptr) {
    pool = s.devices[stream_device_locked(stream, context)].current_pool;
  } else if (!usable_pool_locked(pool)) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  return simcuda::charge_and_allocate_locked(dptr, bytesize, Kind::async, pool->device, context, pool);
}

CUresult free_async(CUdeviceptr dptr, CUstream stream) {
  CUctx_st* context = nullptr;
  if (CUresult r = require_context(context)) return r;
  auto& s = sim();
  std::lock_guard lock(s.mutex);
  if (!simcuda::valid_stream_locked(stream)) return CUDA_ERROR_INVALID_HANDLE;
  auto it = s.allocations.find(dptr);
  if (it == s.allocations.end() || !simcuda::on_device(it->second.kind) || it->second.kind == Kind::managed) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  simcuda::release_allocation_locked(it);
  return CUDA_SUCCESS;
}

CUresult check_device_location(const CUmemLocation* location) {
  if (location == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (location->type != CU_MEM_LOCATION_TYPE_DEVICE) return CUDA_ERROR_NOT_SUPPORTED;
  return valid_device(location->id) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_DEVICE;
}

}  // namespace

extern "C" {

CUresult CUDAAPI cuMemAllocAsync(CUdeviceptr* dptr, size_t bytesize, CUstream hStream) {
  return allocate_async(dptr, bytesize, nullptr, hStream);
}

CUresult CUDAAPI cuMemAllocAsync_ptsz(CUdeviceptr* dptr, size_t bytesize, CUstream hStream) {
  return allocate_async(dptr, bytesize, nullptr, hStream);
}

CUresult CUDAAPI cuMemAllocFromPoolAsync(CUdeviceptr* dptr, size_t bytesize, CUmemoryPool pool,
                                         CUstream hStream) {
  if (pool == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return allocate_async(dptr, bytesize, pool, hStream);
}

CUresult CUDAAPI cuMemAllocFromPoolAsync_ptsz(CUdeviceptr* dptr, size_t bytesize, CUmemoryPool pool,
                                              CUstream hStream) {
  if (pool == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return allocate_async(dptr, bytesize, pool, hStream);
}

CUresult CUDAAPI cuMemFreeAsync(CUdeviceptr dptr, CUstream hStream) { return free_async(dptr, hStream); }

CUresult CUDAAPI cuMemFreeAsync_ptsz(CUdeviceptr dptr, CUstream hStream) { return free_async(dptr, hStream); }

CUresult CUDAAPI cuMemPoolCreate(CUmemoryPool* pool, const CUmemPoolProps* poolProps) {
  if (CUresult r = check_initialized()) return r;
  if (pool == nullptr || poolProps == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (poolProps->allocType != CU_MEM_ALLOCATION_TYPE_PINNED) return CUDA_ERROR_INVALID_VALUE;
  if (CUresult r = check_device_location(&poolProps->location)) return r;
  auto* created = new CUmemPoolHandle_st{poolProps->location.id, false, false, 0};
  auto& s = sim();
  std::lock_guard lock(s.mutex);
  s.pools.insert(created);
  *pool = created;
  return CUDA_SUCCESS;
}

// A pool destroyed with allocations outstanding goes when the last one is freed.
CUresult CUDAAPI cuMemPoolDestroy(CUmemoryPool pool) {
  if (CUresult r = check_initialized()) return r;
  auto& s = sim();
  std::lock_guard lock(s.mutex);
  if (s.pools.count(pool) == 0 || pool->destroyed) return CUDA_ERROR_INVALID_VALUE;
  for (auto& device : s.devices) {
    if (device.current_pool == pool) device.current_pool = &device.default_pool;
  }
  if (pool->live == 0) {
    s.pools.erase(pool);
    delete pool;
  } else {
    pool->destroyed = true;
  }
  return CUDA_SUCCESS;
}

// Freed memory goes straight back to the device, so there is never anything to trim.
CUresult CUDAAPI cuMemPoolTrimTo(CUmemoryPool pool, size_t) {
  if (CUresult r = check_initialized()) return r;
  auto& s = sim();
  std::lock_guard lock(s.mutex);
  return usable_pool_locked(pool) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

CUresult CUDAAPI cuDeviceGetDefaultMemPool(CUmemoryPool* pool_out, CUdevice dev) {
  if (CUresult r = check_initialized()) return r;
  if (pool_out == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (!valid_device(dev)) return CUDA_ERROR_INVALID_DEVICE;
  *pool_out = &sim().devices[dev].default_pool;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDeviceGetMemPool(CUmemoryPool* pool, CUdevice dev) {
  if (CUresult r = check_initialized()) return r;
  if (pool == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (!valid_device(dev)) return CUDA_ERROR_INVALID_DEVICE;
  auto& s = sim();
  std::lock_guard lock(s.mutex);
  *pool = s.devices[dev].current_pool;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemGetDefaultMemPool(CUmemoryPool* pool_out, CUmemLocation* location,
                                        CUmemAllocationType type) {
  if (CUresult r = check_initialized()) return r;
  if (pool_out == nullptr || type != CU_MEM_ALLOCATION_TYPE_PINNED) return CUDA_ERROR_INVALID_VALUE;
  if (CUresult r = check_device_location(location)) return r;
  *pool_out = &sim().devices[location->id].default_pool;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemGetMemPool(CUmemoryPool* pool, CUmemLocation* location, CUmemAllocationType type) {
  if (CUresult r = check_initialized()) return r;
  if (pool == nullptr || type != CU_MEM_ALLOCATION_TYPE_PINNED) return CUDA_ERROR_INVALID_VALUE;
  if (CUresult r = check_device_location(location)) return r;
  auto& s = sim();
  std::lock_guard lock(s.mutex);
  *pool = s.devices[location->id].current_pool;
  return CUDA_SUCCESS;
}

}  // extern "C"
