// Virtual memory management: reserve address space, create physical chunks,
// map them (PyTorch's expandable segments work this way).
//
// A reservation is a PROT_NONE mapping; a physical chunk is a memfd charged to
// its device; cuMemMap puts the memfd over the reservation with MAP_FIXED |
// MAP_SHARED, so two mappings of one chunk alias; cuMemSetAccess opens it.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>

#include "exported_names.h"
#include "sim_state.h"

using simcuda::check_initialized;
using simcuda::sim;
using simcuda::valid_device;

namespace {

CUresult check_prop(const CUmemAllocationProp* prop) {
  if (prop == nullptr || prop->type != CU_MEM_ALLOCATION_TYPE_PINNED) return CUDA_ERROR_INVALID_VALUE;
  if (prop->location.type != CU_MEM_LOCATION_TYPE_DEVICE) return CUDA_ERROR_NOT_SUPPORTED;
  return valid_device(prop->location.id) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_DEVICE;
}

bool multiple_of_granularity(size_t value) { return value != 0 && value % sim().config.granularity == 0; }

void free_chunk_locked(std::map<CUmemGenericAllocationHandle, simcuda::PhysicalChunk>::iterator it) {
  auto& s = sim();
  close(it->second.fd);
  s.devices[it->second.device].charged -= it->second.size;
  s.chunks.erase(it);
}

// True when [start, start + size) lies inside one reservation.
bool inside_reservation_locked(CUdeviceptr start, size_t size) {
  auto& all = sim().reservations;
  auto it = all.upper_bound(start);
  if (it == all.begin()) return false;
  --it;
  return start + size <= it->first + it->second;
}

// The mappings that tile [start, start + size) exactly, in order; empty when
// the range is not made of whole, back-to-back mappings.
std::vector<std::map<CUdeviceptr, simcuda::Mapping>::iterator> tiling_mappings_locked(CUdeviceptr start,
                                                                                      size_t size) {
  auto& all = sim().mappings;
  std::vector<std::map<CUdeviceptr, simcuda::Mapping>::iterator> tiles;
  CUdeviceptr at = start;
  while (at < start + size) {
    auto it = all.find(at);
    if (it == all.end()) return {};
    tiles.push_back(it);
    at += it->second.size;
  }
  if (at != start + size) return {};
  return tiles;
}

}  // namespace

extern "C" {

CUresult CUDAAPI cuMemGetAllocationGranularity(size_t* granularity, const CUmemAllocationProp* prop,
                                               CUmemAllocationGranularity_flags option) {
  if (CUresult r = check_initialized()) return r;
  if (granularity == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (option != CU_MEM_ALLOC_GRANULARITY_MINIMUM && option != CU_MEM_ALLOC_GRANULARITY_RECOMMENDED) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  if (CUresult r = check_prop(prop)) return r;
  *granularity = sim().config.granularity;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemAddressReserve(CUdeviceptr* ptr, size_t size, size_t alignment, CUdeviceptr addr,
                                     unsigned long long flags) {
  if (CUresult r = check_initialized()) return r;
  if (ptr == nullptr || !multiple_of_granularity(size) || flags != 0) return CUDA_ERROR_INVALID_VALUE;
  if (alignment != 0 && (alignment & (alignment - 1)) != 0) return CUDA_ERROR_INVALID_VALUE;
  size_t align = std::max<size_t>(alignment, sim().config.granularity);
  // Over-reserve, then trim to an aligned start.
  size_t length = size + align;
  void* hint = reinterpret_cast<void*>(addr);
  void* raw = mmap(hint, length, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) return CUDA_ERROR_OUT_OF_MEMORY;
  auto raw_start = reinterpret_cast<CUdeviceptr>(raw);
  CUdeviceptr start = simcuda::round_up(raw_start, align);
  if (start > raw_start) munmap(raw, start - raw_start);
  if (raw_start + length > start + size) {
    munmap(reinterpret_cast<void*>(start + size), raw_start + length - (start + size));
  }
  auto& s = sim();
  std::lock_guard lock(s.mutex);
  s.reservations[start] = size;
  *ptr = start;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemAddressFree(CUdeviceptr ptr, size_t size) {
  if (CUresult r = check_initialized()) return r;
  auto& s = sim();
  std::lock_guard lock(s.mutex);
  auto it = s.reservations.find(ptr);
  if (it == s.reservations.end() || it->second != size) return CUDA_ERROR_INVALID_VALUE;
  auto mapped = s.mappings.lower_bound(ptr);
  if (mapped != s.mappings.end() && mapped->first < ptr + size) return CUDA_ERROR_INVALID_VALUE;
  munmap(reinterpret_cast<void*>(ptr), size);
  s.reservations.erase(it);
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemCreate(CUmemGenericAllocationHandle* handle, size_t size,
                             const CUmemAllocationProp* prop, unsigned long long flags) {
  if (CUresult r = check_initialized()) return r;
  if (handle == nullptr || flags != 0 || !multiple_of_granularity(size)) return CUDA_ERROR_INVALID_VALUE;
  if (CUresult r = check_prop(prop)) return r;
  auto& s = sim();
  std::lock_guard lock(s.mutex);
  auto& device = s.devices[prop->location.id];
  if (size > device.capacity - device.other_process - device.charged) return CUDA_ERROR_OUT_OF_MEMORY;
  int fd = memfd_create("simcuda-chunk", MFD_CLOEXEC);
  if (fd < 0) return CUDA_ERROR_OUT_OF_MEMORY;
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    close(fd);
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  device.charged += size;
  CUmemGenericAllocationHandle id = s.next_chunk_handle++;
  s.chunks[id] = simcuda::PhysicalChunk{size, prop->location.id, fd, 0, false};
  *handle = id;
  return CUDA_SUCCESS;
}

// The memory stays until its last mapping goes, as the driver documents.
CUresult CUDAAPI cuMemRelease(CUmemGenericAllocationHandle handle) {
  if (CUresult r = check_initialized()) return r;
  auto& s = sim();
  std::lock_guard lock(s.mutex);
  auto it = s.chunks.find(handle);
  if (it == s.chunks.end() || it->second.released) return CUDA_ERROR_INVALID_VALUE;
  it->second.released = true;
  if (it->second.mappings == 0) free_chunk_locked(it);
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemMap(CUdeviceptr ptr, size_t size, size_t offset, CUmemGenericAllocationHandle handle,
                          unsigned long long flags) {
  if (CUresult r = check_initialized()) return r;
  if (flags != 0 || !multiple_of_granularity(size) || offset % sim().config.granularity != 0) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  auto& s = sim();
  std::lock_guard lock(s.mutex);
  auto chunk = s.chunks.find(handle);
  if (chunk == s.chunks.end() || chunk->second.released) return CUDA_ERROR_INVALID_HANDLE;
  if (offset + size > chunk->second.size || !inside_reservation_locked(ptr, size))
    return CUDA_ERROR_INVALID_VALUE;
  auto next = s.mappings.lower_bound(ptr);
  if (next != s.mappings.end() && next->first < ptr + size) return CUDA_ERROR_ALREADY_MAPPED;
  if (simcuda::find_mapping_locked(ptr) != s.mappings.end()) return CUDA_ERROR_ALREADY_MAPPED;
  void* at = mmap(reinterpret_cast<void*>(ptr), size, PROT_NONE, MAP_SHARED | MAP_FIXED, chunk->second.fd,
                  static_cast<off_t>(offset));
  if (at == MAP_FAILED) return CUDA_ERROR_OUT_OF_MEMORY;
  ++chunk->second.mappings;
  s.mappings[ptr] = simcuda::Mapping{size, offset, handle};
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemUnmap(CUdeviceptr ptr, size_t size) {
  if (CUresult r = check_initialized()) return r;
  if (size == 0) return CUDA_ERROR_INVALID_VALUE;
  auto& s = sim();
  std::lock_guard lock(s.mutex);
  auto tiles = tiling_mappings_locked(ptr, size);
  if (tiles.empty()) return CUDA_ERROR_INVALID_VALUE;
  // Back to reserved-but-inaccessible address space.
  mmap(reinterpret_cast<void*>(ptr), size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
       -1, 0);
  for (auto tile : tiles) {
    auto chunk = s.chunks.find(tile->second.handle);
    if (--chunk->second.mappings == 0 && chunk->second.released) free_chunk_locked(chunk);
    s.mappings.erase(tile);
  }
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemSetAccess(CUdeviceptr ptr, size_t size, const CUmemAccessDesc* desc, size_t count) {
  if (CUresult r = check_initialized()) return r;
  if (desc == nullptr || count == 0 || size == 0) return CUDA_ERROR_INVALID_VALUE;
  int prot = PROT_NONE;
  for (size_t i = 0; i < count; ++i) {
    if (desc[i].location.type != CU_MEM_LOCATION_TYPE_DEVICE) return CUDA_ERROR_NOT_SUPPORTED;
    if (!valid_device(desc[i].location.id)) return CUDA_ERROR_INVALID_DEVICE;
    // Host and every device share one address space here, so the widest access wins.
    if (desc[i].flags == CU_MEM_ACCESS_FLAGS_PROT_READWRITE)
      prot = PROT_READ | PROT_WRITE;
    else if (desc[i].flags == CU_MEM_ACCESS_FLAGS_PROT_READ && prot == PROT_NONE)
      prot = PROT_READ;
    else if (desc[i].flags != CU_MEM_ACCESS_FLAGS_PROT_NONE &&
             desc[i].flags != CU_MEM_ACCESS_FLAGS_PROT_READ) {
      return CUDA_ERROR_INVALID_VALUE;
    }
  }
  auto& s = sim();
  std::lock_guard lock(s.mutex);
  if (tiling_mappings_locked(ptr, size).empty()) return CUDA_ERROR_INVALID_VALUE;
  if (mprotect(reinterpret_cast<void*>(ptr), size, prot) != 0) return CUDA_ERROR_INVALID_VALUE;
  return CUDA_SUCCESS;
}

}  // extern "C"
