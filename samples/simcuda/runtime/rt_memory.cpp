// Allocation: cudaMalloc and friends, stream-ordered allocation, pools, pinned host memory.
#include "runtime_state.h"

using simcudart::driver;
using simcudart::kLegacyStream;
using simcudart::kPerThreadStream;
using simcudart::ready_with_context;
using simcudart::record;
using simcudart::StreamFlavour;

extern "C" {
cudaError_t CUDARTAPI cudaMallocAsync_ptsz(void** devPtr, size_t size, cudaStream_t hStream);
cudaError_t CUDARTAPI cudaFreeAsync_ptsz(void* devPtr, cudaStream_t hStream);
cudaError_t CUDARTAPI cudaMallocFromPoolAsync_ptsz(void** ptr, size_t size, cudaMemPool_t memPool,
                                                   cudaStream_t stream);
}

namespace {

CUdeviceptr device_address(const void* p) { return reinterpret_cast<CUdeviceptr>(p); }

// Runs produce(&address) and hands the address out as a void* on success.
template <typename Produce>
cudaError_t address_out(void** out, Produce produce) {
  if (out == nullptr) return record(cudaErrorInvalidValue);
  if (cudaError_t error = ready_with_context()) return record(error);
  CUdeviceptr address = 0;
  CUresult result = produce(&address);
  if (result == CUDA_SUCCESS) *out = reinterpret_cast<void*>(address);
  return record(result);
}

cudaError_t malloc_async(void** devPtr, size_t size, cudaStream_t stream, StreamFlavour flavour) {
  return address_out(devPtr,
                     [&](CUdeviceptr* p) { return driver().mem_alloc_async[flavour](p, size, stream); });
}

cudaError_t free_async(void* devPtr, cudaStream_t stream, StreamFlavour flavour) {
  if (cudaError_t error = ready_with_context()) return record(error);
  if (devPtr == nullptr) return cudaSuccess;
  return record(driver().mem_free_async[flavour](device_address(devPtr), stream));
}

cudaError_t malloc_from_pool_async(void** ptr, size_t size, cudaMemPool_t pool, cudaStream_t stream,
                                   StreamFlavour flavour) {
  return address_out(ptr, [&](CUdeviceptr* p) {
    return driver().mem_alloc_from_pool_async[flavour](p, size, pool, stream);
  });
}

// The pitch simcuda's driver wants an element size for; the runtime has none to give.
constexpr unsigned int kPitchElementSize = 4;

}  // namespace

extern "C" {

// A zero-byte request succeeds with a null pointer, as on the real runtime.
cudaError_t CUDARTAPI cudaMalloc(void** devPtr, size_t size) {
  return address_out(devPtr, [&](CUdeviceptr* p) {
    if (size == 0) return CUDA_SUCCESS;
    return driver().mem_alloc(p, size);
  });
}

cudaError_t CUDARTAPI cudaMallocPitch(void** devPtr, size_t* pitch, size_t width, size_t height) {
  if (pitch == nullptr) return record(cudaErrorInvalidValue);
  return address_out(devPtr, [&](CUdeviceptr* p) {
    return driver().mem_alloc_pitch(p, pitch, width, height, kPitchElementSize);
  });
}

cudaError_t CUDARTAPI cudaMalloc3D(cudaPitchedPtr* pitchedDevPtr, cudaExtent extent) {
  if (pitchedDevPtr == nullptr) return record(cudaErrorInvalidValue);
  size_t pitch = 0;
  void* p = nullptr;
  cudaError_t error = address_out(&p, [&](CUdeviceptr* out) {
    return driver().mem_alloc_pitch(out, &pitch, extent.width, extent.height * extent.depth,
                                    kPitchElementSize);
  });
  if (error == cudaSuccess) *pitchedDevPtr = cudaPitchedPtr{p, pitch, extent.width, extent.height};
  return error;
}

cudaError_t CUDARTAPI cudaMallocManaged(void** devPtr, size_t size, unsigned int flags) {
  // cudaMemAttachGlobal and cudaMemAttachHost are the driver's CU_MEM_ATTACH_* values.
  return address_out(devPtr, [&](CUdeviceptr* p) { return driver().mem_alloc_managed(p, size, flags); });
}

// cudaFree(nullptr) is the customary way to start the runtime: it does, then succeeds.
cudaError_t CUDARTAPI cudaFree(void* devPtr) {
  if (cudaError_t error = ready_with_context()) return record(error);
  if (devPtr == nullptr) return cudaSuccess;
  return record(driver().mem_free(device_address(devPtr)));
}

cudaError_t CUDARTAPI cudaMallocAsync(void** devPtr, size_t size, cudaStream_t hStream) {
  return malloc_async(devPtr, size, hStream, kLegacyStream);
}
cudaError_t CUDARTAPI cudaMallocAsync_ptsz(void** devPtr, size_t size, cudaStream_t hStream) {
  return malloc_async(devPtr, size, hStream, kPerThreadStream);
}
cudaError_t CUDARTAPI cudaFreeAsync(void* devPtr, cudaStream_t hStream) {
  return free_async(devPtr, hStream, kLegacyStream);
}
cudaError_t CUDARTAPI cudaFreeAsync_ptsz(void* devPtr, cudaStream_t hStream) {
  return free_async(devPtr, hStream, kPerThreadStream);
}
cudaError_t CUDARTAPI cudaMallocFromPoolAsync(void** ptr, size_t size, cudaMemPool_t memPool,
                                              cudaStream_t stream) {
  return malloc_from_pool_async(ptr, size, memPool, stream, kLegacyStream);
}
cudaError_t CUDARTAPI cudaMallocFromPoolAsync_ptsz(void** ptr, size_t size, cudaMemPool_t memPool,
                                                   cudaStream_t stream) {
  return malloc_from_pool_async(ptr, size, memPool, stream, kPerThreadStream);
}

cudaError_t CUDARTAPI cudaMemPoolCreate(cudaMemPool_t* memPool, const cudaMemPoolProps* poolProps) {
  static_assert(sizeof(cudaMemPoolProps) == sizeof(CUmemPoolProps), "the runtime and driver layouts agree");
  if (cudaError_t error = ready_with_context()) return record(error);
  return record(driver().mem_pool_create(memPool, reinterpret_cast<const CUmemPoolProps*>(poolProps)));
}

cudaError_t CUDARTAPI cudaMemPoolDestroy(cudaMemPool_t memPool) {
  if (cudaError_t error = ready_with_context()) return record(error);
  return record(driver().mem_pool_destroy(memPool));
}

cudaError_t CUDARTAPI cudaMemPoolTrimTo(cudaMemPool_t memPool, size_t minBytesToKeep) {
  if (cudaError_t error = ready_with_context()) return record(error);
  return record(driver().mem_pool_trim_to(memPool, minBytesToKeep));
}

cudaError_t CUDARTAPI cudaDeviceGetDefaultMemPool(cudaMemPool_t* memPool, int device) {
  if (cudaError_t error = ready_with_context()) return record(error);
  return record(driver().device_get_default_mem_pool(memPool, device));
}

cudaError_t CUDARTAPI cudaMallocHost(void** ptr, size_t size) {
  if (ptr == nullptr) return record(cudaErrorInvalidValue);
  if (cudaError_t error = ready_with_context()) return record(error);
  return record(driver().mem_alloc_host(ptr, size));
}

// cudaHostAlloc* and cudaHostRegister* flags are the driver's bits.
cudaError_t CUDARTAPI cudaHostAlloc(void** pHost, size_t size, unsigned int flags) {
  if (pHost == nullptr) return record(cudaErrorInvalidValue);
  if (cudaError_t error = ready_with_context()) return record(error);
  return record(driver().mem_host_alloc(pHost, size, flags));
}

cudaError_t CUDARTAPI cudaFreeHost(void* ptr) {
  if (cudaError_t error = ready_with_context()) return record(error);
  if (ptr == nullptr) return cudaSuccess;
  return record(driver().mem_free_host(ptr));
}

cudaError_t CUDARTAPI cudaHostRegister(void* ptr, size_t size, unsigned int flags) {
  if (cudaError_t error = ready_with_context()) return record(error);
  return record(driver().mem_host_register(ptr, size, flags));
}

cudaError_t CUDARTAPI cudaHostUnregister(void* ptr) {
  if (cudaError_t error = ready_with_context()) return record(error);
  return record(driver().mem_host_unregister(ptr));
}

cudaError_t CUDARTAPI cudaHostGetDevicePointer(void** pDevice, void* pHost, unsigned int flags) {
  return address_out(pDevice,
                     [&](CUdeviceptr* p) { return driver().mem_host_get_device_pointer(p, pHost, flags); });
}

cudaError_t CUDARTAPI cudaMemGetInfo(size_t* free, size_t* total) {
  if (cudaError_t error = ready_with_context()) return record(error);
  return record(driver().mem_get_info(free, total));
}

}  // extern "C"
