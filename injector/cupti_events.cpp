// generated_cuda_meta.h's parameter structs name the driver's old (_v1)
// types, which cuda.h declares only for the driver's own build.
#define __CUDA_API_VERSION_INTERNAL 1
#include "injector/cupti_events.h"

#include <generated_cuda_meta.h>

namespace vramscope::inject::cupti {

namespace {

using trace::Api;
using trace::MemoryKind;
using Type = CallEvent::Type;

template <typename Handle>
uint64_t value_of(Handle h) {
  if constexpr (std::is_pointer_v<Handle>) {
    return reinterpret_cast<uint64_t>(h);
  } else {
    return static_cast<uint64_t>(h);
  }
}

// An allocating call: on success the block at *out, on failure the request.
template <typename Out>
CallEvent allocation(MemoryKind kind, Api api, CUresult result, const Out* out, uint64_t size,
                     uint64_t stream = 0, int device = kCurrentDevice) {
  CallEvent e;
  e.kind = kind;
  e.api = api;
  e.size = size;
  e.stream = stream;
  e.device = device;
  if (result == CUDA_SUCCESS && out) {
    e.address = value_of(*out);
  } else {
    e.type = Type::Failed;
    e.error = static_cast<int>(result);
  }
  return e;
}

CallEvent release(MemoryKind kind, Api api, uint64_t address, uint64_t size = 0, uint64_t stream = 0) {
  CallEvent e;
  e.type = Type::Free;
  e.kind = kind;
  e.api = api;
  e.address = address;
  e.size = size;
  e.stream = stream;
  return e;
}

int device_of(const CUmemLocation& location) {
  return location.type == CU_MEM_LOCATION_TYPE_DEVICE ? location.id : kCurrentDevice;
}

template <typename Params>
const Params& as(const void* params) {
  return *static_cast<const Params*>(params);
}

// The stream-ordered calls: their plain and per-thread-stream (_ptsz) forms
// have parameters of one shape under two names.
template <typename Params>
CallEvent stream_allocation(Api api, const void* p, CUresult r) {
  const auto& a = as<Params>(p);
  return allocation(MemoryKind::AsyncPool, api, r, a.dptr, a.bytesize, value_of(a.hStream));
}
template <typename Params>
CallEvent stream_release(const void* p) {
  const auto& a = as<Params>(p);
  return release(MemoryKind::AsyncPool, Api::cuMemFreeAsync, a.dptr, 0, value_of(a.hStream));
}

std::optional<CallEvent> read(CUpti_CallbackId cbid, const void* p, CUresult r) {
  switch (cbid) {
    case CUPTI_DRIVER_TRACE_CBID_cuMemAlloc_v2: {
      const auto& a = as<cuMemAlloc_v2_params>(p);
      return allocation(MemoryKind::Device, Api::cuMemAlloc, r, a.dptr, a.bytesize);
    }
    case CUPTI_DRIVER_TRACE_CBID_cuMemAllocPitch_v2: {
      const auto& a = as<cuMemAllocPitch_v2_params>(p);
      CallEvent e =
          allocation(MemoryKind::Device, Api::cuMemAllocPitch, r, a.dptr, a.WidthInBytes * a.Height);
      if (e.type == Type::Alloc && a.pPitch) e.size = *a.pPitch * a.Height;
      return e;
    }
    case CUPTI_DRIVER_TRACE_CBID_cuMemFree_v2:
      return release(MemoryKind::Device, Api::cuMemFree, as<cuMemFree_v2_params>(p).dptr);
    case CUPTI_DRIVER_TRACE_CBID_cuMemAllocAsync:
      return stream_allocation<cuMemAllocAsync_params>(Api::cuMemAllocAsync, p, r);
    case CUPTI_DRIVER_TRACE_CBID_cuMemAllocAsync_ptsz:
      return stream_allocation<cuMemAllocAsync_ptsz_params>(Api::cuMemAllocAsync, p, r);
    case CUPTI_DRIVER_TRACE_CBID_cuMemAllocFromPoolAsync:
      return stream_allocation<cuMemAllocFromPoolAsync_params>(Api::cuMemAllocFromPoolAsync, p, r);
    case CUPTI_DRIVER_TRACE_CBID_cuMemAllocFromPoolAsync_ptsz:
      return stream_allocation<cuMemAllocFromPoolAsync_ptsz_params>(Api::cuMemAllocFromPoolAsync, p, r);
    case CUPTI_DRIVER_TRACE_CBID_cuMemFreeAsync:
      return stream_release<cuMemFreeAsync_params>(p);
    case CUPTI_DRIVER_TRACE_CBID_cuMemFreeAsync_ptsz:
      return stream_release<cuMemFreeAsync_ptsz_params>(p);
    case CUPTI_DRIVER_TRACE_CBID_cuMemAllocManaged: {
      const auto& a = as<cuMemAllocManaged_params>(p);
      return allocation(MemoryKind::Managed, Api::cuMemAllocManaged, r, a.dptr, a.bytesize);
    }
    case CUPTI_DRIVER_TRACE_CBID_cuMemHostAlloc: {
      const auto& a = as<cuMemHostAlloc_params>(p);
      return allocation(MemoryKind::PinnedHost, Api::cuMemHostAlloc, r, a.pp, a.bytesize);
    }
    case CUPTI_DRIVER_TRACE_CBID_cuMemAllocHost_v2: {
      const auto& a = as<cuMemAllocHost_v2_params>(p);
      return allocation(MemoryKind::PinnedHost, Api::cuMemAllocHost, r, a.pp, a.bytesize);
    }
    case CUPTI_DRIVER_TRACE_CBID_cuMemFreeHost:
      return release(MemoryKind::PinnedHost, Api::cuMemFreeHost, value_of(as<cuMemFreeHost_params>(p).p));
    case CUPTI_DRIVER_TRACE_CBID_cuMemHostRegister_v2: {
      const auto& a = as<cuMemHostRegister_v2_params>(p);
      return allocation(MemoryKind::HostRegistered, Api::cuMemHostRegister, r, &a.p, a.bytesize);
    }
    case CUPTI_DRIVER_TRACE_CBID_cuMemHostUnregister:
      return release(MemoryKind::HostRegistered, Api::cuMemHostUnregister,
                     value_of(as<cuMemHostUnregister_params>(p).p));
    case CUPTI_DRIVER_TRACE_CBID_cuMemAddressReserve: {
      const auto& a = as<cuMemAddressReserve_params>(p);
      return allocation(MemoryKind::VirtualReserve, Api::cuMemAddressReserve, r, a.ptr, a.size);
    }
    case CUPTI_DRIVER_TRACE_CBID_cuMemAddressFree: {
      const auto& a = as<cuMemAddressFree_params>(p);
      return release(MemoryKind::VirtualReserve, Api::cuMemAddressFree, a.ptr, a.size);
    }
    case CUPTI_DRIVER_TRACE_CBID_cuMemCreate: {
      const auto& a = as<cuMemCreate_params>(p);
      return allocation(MemoryKind::VirtualPhysical, Api::cuMemCreate, r, a.handle, a.size, 0,
                        a.prop ? device_of(a.prop->location) : kCurrentDevice);
    }
    case CUPTI_DRIVER_TRACE_CBID_cuMemRelease:
      return release(MemoryKind::VirtualPhysical, Api::cuMemRelease, as<cuMemRelease_params>(p).handle);
    case CUPTI_DRIVER_TRACE_CBID_cuMemMap: {
      const auto& a = as<cuMemMap_params>(p);
      return allocation(MemoryKind::VirtualMap, Api::cuMemMap, r, &a.ptr, a.size);
    }
    case CUPTI_DRIVER_TRACE_CBID_cuMemUnmap: {
      const auto& a = as<cuMemUnmap_params>(p);
      return release(MemoryKind::VirtualMap, Api::cuMemUnmap, a.ptr, a.size);
    }
    case CUPTI_DRIVER_TRACE_CBID_cuMemPoolCreate: {
      const auto& a = as<cuMemPoolCreate_params>(p);
      return allocation(MemoryKind::MemoryPool, Api::cuMemPoolCreate, r, a.pool, 0, 0,
                        a.poolProps ? device_of(a.poolProps->location) : kCurrentDevice);
    }
    case CUPTI_DRIVER_TRACE_CBID_cuMemPoolDestroy:
      return release(MemoryKind::MemoryPool, Api::cuMemPoolDestroy,
                     value_of(as<cuMemPoolDestroy_params>(p).pool));
    case CUPTI_DRIVER_TRACE_CBID_cuMemPoolTrimTo: {
      const auto& a = as<cuMemPoolTrimTo_params>(p);
      CallEvent e;
      e.type = Type::PoolTrim;
      e.kind = MemoryKind::MemoryPool;
      e.api = Api::cuMemPoolTrimTo;
      e.address = value_of(a.pool);
      e.size = a.minBytesToKeep;
      return e;
    }
    default:
      return std::nullopt;
  }
}

}  // namespace

bool frees(CUpti_CallbackId cbid) {
  switch (cbid) {
    case CUPTI_DRIVER_TRACE_CBID_cuMemFree_v2:
    case CUPTI_DRIVER_TRACE_CBID_cuMemFreeAsync:
    case CUPTI_DRIVER_TRACE_CBID_cuMemFreeAsync_ptsz:
    case CUPTI_DRIVER_TRACE_CBID_cuMemFreeHost:
    case CUPTI_DRIVER_TRACE_CBID_cuMemHostUnregister:
    case CUPTI_DRIVER_TRACE_CBID_cuMemAddressFree:
    case CUPTI_DRIVER_TRACE_CBID_cuMemRelease:
    case CUPTI_DRIVER_TRACE_CBID_cuMemUnmap:
    case CUPTI_DRIVER_TRACE_CBID_cuMemPoolDestroy:
      return true;
    default:
      return false;
  }
}

std::span<const CUpti_CallbackId> memory_calls() {
  static constexpr CUpti_CallbackId kCalls[] = {
      CUPTI_DRIVER_TRACE_CBID_cuMemAlloc_v2,
      CUPTI_DRIVER_TRACE_CBID_cuMemAllocPitch_v2,
      CUPTI_DRIVER_TRACE_CBID_cuMemFree_v2,
      CUPTI_DRIVER_TRACE_CBID_cuMemAllocAsync,
      CUPTI_DRIVER_TRACE_CBID_cuMemAllocAsync_ptsz,
      CUPTI_DRIVER_TRACE_CBID_cuMemAllocFromPoolAsync,
      CUPTI_DRIVER_TRACE_CBID_cuMemAllocFromPoolAsync_ptsz,
      CUPTI_DRIVER_TRACE_CBID_cuMemFreeAsync,
      CUPTI_DRIVER_TRACE_CBID_cuMemFreeAsync_ptsz,
      CUPTI_DRIVER_TRACE_CBID_cuMemAllocManaged,
      CUPTI_DRIVER_TRACE_CBID_cuMemHostAlloc,
      CUPTI_DRIVER_TRACE_CBID_cuMemAllocHost_v2,
      CUPTI_DRIVER_TRACE_CBID_cuMemFreeHost,
      CUPTI_DRIVER_TRACE_CBID_cuMemHostRegister_v2,
      CUPTI_DRIVER_TRACE_CBID_cuMemHostUnregister,
      CUPTI_DRIVER_TRACE_CBID_cuMemAddressReserve,
      CUPTI_DRIVER_TRACE_CBID_cuMemAddressFree,
      CUPTI_DRIVER_TRACE_CBID_cuMemCreate,
      CUPTI_DRIVER_TRACE_CBID_cuMemRelease,
      CUPTI_DRIVER_TRACE_CBID_cuMemMap,
      CUPTI_DRIVER_TRACE_CBID_cuMemUnmap,
      CUPTI_DRIVER_TRACE_CBID_cuMemPoolCreate,
      CUPTI_DRIVER_TRACE_CBID_cuMemPoolDestroy,
      CUPTI_DRIVER_TRACE_CBID_cuMemPoolTrimTo,
  };
  return kCalls;
}

void tally(const CUpti_Activity& record, ActivityTally& t) {
  if (record.kind == CUPTI_ACTIVITY_KIND_MEMORY2) {
    const auto& memory = reinterpret_cast<const CUpti_ActivityMemory4&>(record);
    const bool counted = memory.memoryKind == CUPTI_ACTIVITY_MEMORY_KIND_DEVICE ||
                         memory.memoryKind == CUPTI_ACTIVITY_MEMORY_KIND_MANAGED ||
                         memory.memoryKind == CUPTI_ACTIVITY_MEMORY_KIND_PINNED;
    if (!counted) {
      t.other += 1;
    } else if (memory.memoryOperationType == CUPTI_ACTIVITY_MEMORY_OPERATION_TYPE_ALLOCATION) {
      t.allocations += 1;
    } else if (memory.memoryOperationType == CUPTI_ACTIVITY_MEMORY_OPERATION_TYPE_RELEASE) {
      t.releases += 1;
    }
    return;
  }
  if (record.kind == CUPTI_ACTIVITY_KIND_MEMORY_POOL) {
    const auto& pool = reinterpret_cast<const CUpti_ActivityMemoryPool3&>(record);
    switch (pool.memoryPoolOperationType) {
      case CUPTI_ACTIVITY_MEMORY_POOL_OPERATION_TYPE_CREATED:
        t.pools_created += 1;
        return;
      case CUPTI_ACTIVITY_MEMORY_POOL_OPERATION_TYPE_DESTROYED:
        t.pools_destroyed += 1;
        return;
      case CUPTI_ACTIVITY_MEMORY_POOL_OPERATION_TYPE_TRIMMED:
        t.pools_trimmed += 1;
        return;
      default:
        return;
    }
  }
  t.other += 1;
}

bool counted_by_activity(const CallEvent& e) {
  return (e.type == Type::Alloc || e.type == Type::Free) &&
         (e.kind == MemoryKind::Device || e.kind == MemoryKind::AsyncPool || e.kind == MemoryKind::Managed ||
          e.kind == MemoryKind::PinnedHost);
}

std::optional<CallEvent> event_of(CUpti_CallbackId cbid, const void* params, CUresult result) {
  if (!params) return std::nullopt;
  std::optional<CallEvent> e = read(cbid, params, result);
  if (e && e->type != Type::Alloc && e->type != Type::Failed && result != CUDA_SUCCESS) return std::nullopt;
  if (e && e->type == Type::Free && e->address == 0) return std::nullopt;
  return e;
}

}  // namespace vramscope::inject::cupti
