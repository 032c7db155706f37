// Device, managed and pinned host memory; what the driver says about a pointer.
#include <sys/mman.h>

#include "exported_names.h"
#include "sim_state.h"

using simcuda::Allocation;
using simcuda::check_initialized;
using simcuda::Kind;
using simcuda::require_context;
using simcuda::sim;

namespace {

constexpr size_t kPitchAlignment = 512;
constexpr size_t kPageSize = 4096;

CUresult allocate_on_device(CUdeviceptr* dptr, size_t bytesize, Kind kind) {
  CUctx_st* context = nullptr;
  if (CUresult r = require_context(context)) return r;
  if (dptr == nullptr || bytesize == 0) return CUDA_ERROR_INVALID_VALUE;
  auto& s = sim();
  std::lock_guard lock(s.mutex);
  return simcuda::charge_and_allocate_locked(dptr, bytesize, kind, context->device, context, nullptr);
}

CUresult allocate_pinned(void** pp, size_t bytesize) {
  CUctx_st* context = nullptr;
  if (CUresult r = require_context(context)) return r;
  if (pp == nullptr || bytesize == 0) return CUDA_ERROR_INVALID_VALUE;
  size_t length = simcuda::round_up(bytesize, kPageSize);
  void* p = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return CUDA_ERROR_OUT_OF_MEMORY;
  auto& s = sim();
  std::lock_guard lock(s.mutex);
  s.allocations[reinterpret_cast<CUdeviceptr>(p)] =
      Allocation{bytesize, 0, length, context->device, Kind::pinned_host, context, nullptr};
  *pp = p;
  return CUDA_SUCCESS;
}

// True when [start, start + size) meets any recorded allocation or registration.
bool overlaps_locked(CUdeviceptr start, size_t size) {
  auto& all = sim().allocations;
  auto extent = [](const Allocation& a) { return a.size > a.mapped ? a.size : a.mapped; };
  auto it = all.lower_bound(start);
  if (it != all.end() && it->first < start + size) return true;
  if (it != all.begin()) {
    --it;
    if (it->first + extent(it->second) > start) return true;
  }
  return false;
}

// The reservation holding address, as {start, size}; {0, 0} when none does.
std::pair<CUdeviceptr, size_t> find_reservation_locked(CUdeviceptr address) {
  auto& all = sim().reservations;
  auto it = all.upper_bound(address);
  if (it == all.begin()) return {0, 0};
  --it;
  if (address >= it->first + it->second) return {0, 0};
  return *it;
}

template <typename T>
void put(void* data, T value) {
  *static_cast<T*>(data) = value;
}

CUresult vmm_pointer_attribute_locked(void* data, CUpointer_attribute attribute, CUdeviceptr ptr) {
  auto& s = sim();
  auto [range_start, range_size] = find_reservation_locked(ptr);
  auto mapping = simcuda::find_mapping_locked(ptr);
  bool mapped = mapping != s.mappings.end();
  if (attribute == CU_POINTER_ATTRIBUTE_MAPPED && range_size != 0) {
    put<bool>(data, mapped);
    return CUDA_SUCCESS;
  }
  if (!mapped) return CUDA_ERROR_INVALID_VALUE;
  const auto& chunk = s.chunks.at(mapping->second.handle);
  switch (attribute) {
    case CU_POINTER_ATTRIBUTE_MEMORY_TYPE:
      put<unsigned int>(data, CU_MEMORYTYPE_DEVICE);
      break;
    case CU_POINTER_ATTRIBUTE_DEVICE_POINTER:
      put<CUdeviceptr>(data, ptr);
      break;
    case CU_POINTER_ATTRIBUTE_IS_MANAGED:
      put<bool>(data, false);
      break;
    case CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL:
      put<int>(data, chunk.device);
      break;
    case CU_POINTER_ATTRIBUTE_RANGE_START_ADDR:
      put<CUdeviceptr>(data, range_start);
      break;
    case CU_POINTER_ATTRIBUTE_RANGE_SIZE:
      put<size_t>(data, range_size);
      break;
    case CU_POINTER_ATTRIBUTE_MAPPED:
      put<bool>(data, true);
      break;
    default:
      return CUDA_ERROR_INVALID_VALUE;
  }
  return CUDA_SUCCESS;
}

}  // namespace

extern "C" {

CUresult CUDAAPI cuMemAlloc_v2(CUdeviceptr* dptr, size_t bytesize) {
  return allocate_on_device(dptr, bytesize, Kind::device);
}

CUresult CUDAAPI cuMemAllocPitch_v2(CUdeviceptr* dptr, size_t* pPitch, size_t WidthInBytes, size_t Height,
                                    unsigned int ElementSizeBytes) {
  if (CUresult r = check_initialized()) return r;
  if (pPitch == nullptr || WidthInBytes == 0 || Height == 0) return CUDA_ERROR_INVALID_VALUE;
  if (ElementSizeBytes != 4 && ElementSizeBytes != 8 && ElementSizeBytes != 16)
    return CUDA_ERROR_INVALID_VALUE;
  size_t pitch = simcuda::round_up(WidthInBytes, kPitchAlignment);
  if (Height > SIZE_MAX / pitch) return CUDA_ERROR_OUT_OF_MEMORY;
  CUresult result = allocate_on_device(dptr, pitch * Height, Kind::pitched);
  if (result == CUDA_SUCCESS) *pPitch = pitch;
  return result;
}

CUresult CUDAAPI cuMemAllocManaged(CUdeviceptr* dptr, size_t bytesize, unsigned int flags) {
  if (flags != CU_MEM_ATTACH_GLOBAL && flags != CU_MEM_ATTACH_HOST) return CUDA_ERROR_INVALID_VALUE;
  return allocate_on_device(dptr, bytesize, Kind::managed);
}

CUresult CUDAAPI cuMemFree_v2(CUdeviceptr dptr) {
  CUctx_st* context = nullptr;
  if (CUresult r = require_context(context)) return r;
  auto& s = sim();
  std::lock_guard lock(s.mutex);
  auto it = s.allocations.find(dptr);
  if (it == s.allocations.end() || !simcuda::on_device(it->second.kind)) return CUDA_ERROR_INVALID_VALUE;
  simcuda::release_allocation_locked(it);
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemGetInfo_v2(size_t* free, size_t* total) {
  CUctx_st* context = nullptr;
  if (CUresult r = require_context(context)) return r;
  if (free == nullptr || total == nullptr) return CUDA_ERROR_INVALID_VALUE;
  auto& s = sim();
  std::lock_guard lock(s.mutex);
  const auto& device = s.devices[context->device];
  *free = device.capacity - device.other_process - device.charged;
  *total = device.capacity;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemAllocHost_v2(void** pp, size_t bytesize) { return allocate_pinned(pp, bytesize); }

CUresult CUDAAPI cuMemHostAlloc(void** pp, size_t bytesize, unsigned int Flags) {
  constexpr unsigned kKnown =
      CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_DEVICEMAP | CU_MEMHOSTALLOC_WRITECOMBINED;
  if ((Flags & ~kKnown) != 0) return CUDA_ERROR_INVALID_VALUE;
  return allocate_pinned(pp, bytesize);
}

CUresult CUDAAPI cuMemFreeHost(void* p) {
  CUctx_st* context = nullptr;
  if (CUresult r = require_context(context)) return r;
  auto& s = sim();
  std::lock_guard lock(s.mutex);
  auto it = s.allocations.find(reinterpret_cast<CUdeviceptr>(p));
  if (it == s.allocations.end() || it->second.kind != Kind::pinned_host) return CUDA_ERROR_INVALID_VALUE;
  simcuda::release_allocation_locked(it);
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemHostRegister_v2(void* p, size_t bytesize, unsigned int Flags) {
  CUctx_st* context = nullptr;
  if (CUresult r = require_context(context)) return r;
  constexpr unsigned kKnown = CU_MEMHOSTREGISTER_PORTABLE | CU_MEMHOSTREGISTER_DEVICEMAP |
                              CU_MEMHOSTREGISTER_IOMEMORY | CU_MEMHOSTREGISTER_READ_ONLY;
  if (p == nullptr || bytesize == 0 || (Flags & ~kKnown) != 0) return CUDA_ERROR_INVALID_VALUE;
  auto& s = sim();
  std::lock_guard lock(s.mutex);
  auto start = reinterpret_cast<CUdeviceptr>(p);
  if (overlaps_locked(start, bytesize)) return CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED;
  s.allocations[start] = Allocation{bytesize, 0, 0, context->device, Kind::registered_host, context, nullptr};
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemHostRegister(void* p, size_t bytesize, unsigned int Flags) {
  return cuMemHostRegister_v2(p, bytesize, Flags);
}

CUresult CUDAAPI cuMemHostUnregister(void* p) {
  CUctx_st* context = nullptr;
  if (CUresult r = require_context(context)) return r;
  if (p == nullptr) return CUDA_ERROR_INVALID_VALUE;
  auto& s = sim();
  std::lock_guard lock(s.mutex);
  auto it = s.allocations.find(reinterpret_cast<CUdeviceptr>(p));
  if (it == s.allocations.end() || it->second.kind != Kind::registered_host) {
    return CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED;
  }
  simcuda::release_allocation_locked(it);
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemHostGetDevicePointer_v2(CUdeviceptr* pdptr, void* p, unsigned int Flags) {
  CUctx_st* context = nullptr;
  if (CUresult r = require_context(context)) return r;
  if (pdptr == nullptr || p == nullptr || Flags != 0) return CUDA_ERROR_INVALID_VALUE;
  auto& s = sim();
  std::lock_guard lock(s.mutex);
  auto it = simcuda::find_containing_locked(reinterpret_cast<CUdeviceptr>(p));
  if (it == s.allocations.end() || simcuda::on_device(it->second.kind)) return CUDA_ERROR_INVALID_VALUE;
  *pdptr = reinterpret_cast<CUdeviceptr>(p);  // one address space, as with UVA
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemGetAddressRange_v2(CUdeviceptr* pbase, size_t* psize, CUdeviceptr dptr) {
  if (CUresult r = check_initialized()) return r;
  auto& s = sim();
  std::lock_guard lock(s.mutex);
  CUdeviceptr base = 0;
  size_t size = 0;
  if (auto it = simcuda::find_containing_locked(dptr); it != s.allocations.end()) {
    base = it->first;
    size = it->second.size;
  } else if (auto m = simcuda::find_mapping_locked(dptr); m != s.mappings.end()) {
    base = m->first;
    size = m->second.size;
  } else {
    return CUDA_ERROR_NOT_FOUND;
  }
  if (pbase != nullptr) *pbase = base;
  if (psize != nullptr) *psize = size;
  return CUDA_SUCCESS;
}

// Booleans are written as one byte (bool), the narrowest type a caller may pass.
CUresult CUDAAPI cuPointerGetAttribute(void* data, CUpointer_attribute attribute, CUdeviceptr ptr) {
  if (CUresult r = check_initialized()) return r;
  if (data == nullptr) return CUDA_ERROR_INVALID_VALUE;
  auto& s = sim();
  std::lock_guard lock(s.mutex);
  auto it = simcuda::find_containing_locked(ptr);
  if (it == s.allocations.end()) return vmm_pointer_attribute_locked(data, attribute, ptr);
  const Allocation& a = it->second;
  bool device = simcuda::on_device(a.kind);
  switch (attribute) {
    case CU_POINTER_ATTRIBUTE_CONTEXT:
      put<CUcontext>(data, a.context);
      break;
    case CU_POINTER_ATTRIBUTE_MEMORY_TYPE:
      put<unsigned int>(data, device ? CU_MEMORYTYPE_DEVICE : CU_MEMORYTYPE_HOST);
      break;
    case CU_POINTER_ATTRIBUTE_DEVICE_POINTER:
      put<CUdeviceptr>(data, ptr);
      break;
    case CU_POINTER_ATTRIBUTE_HOST_POINTER:
      if (device && a.kind != Kind::managed) return CUDA_ERROR_INVALID_VALUE;
      put<void*>(data, reinterpret_cast<void*>(ptr));
      break;
    case CU_POINTER_ATTRIBUTE_IS_MANAGED:
      put<bool>(data, a.kind == Kind::managed);
      break;
    case CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL:
      put<int>(data, a.device);
      break;
    case CU_POINTER_ATTRIBUTE_RANGE_START_ADDR:
      put<CUdeviceptr>(data, it->first);
      break;
    case CU_POINTER_ATTRIBUTE_RANGE_SIZE:
      put<size_t>(data, a.size);
      break;
    case CU_POINTER_ATTRIBUTE_MAPPED:
      put<bool>(data, true);
      break;
    case CU_POINTER_ATTRIBUTE_MEMPOOL_HANDLE:
      put<CUmemoryPool>(data, a.pool);
      break;
    default:
      return CUDA_ERROR_NOT_SUPPORTED;
  }
  return CUDA_SUCCESS;
}

}  // extern "C"
