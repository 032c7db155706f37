// Names of the trace's enums, as reports print them.
#include "formats/trace_events.h"

namespace vramscope::trace {

std::string_view to_string(MemoryKind kind) {
  switch (kind) {
    case MemoryKind::Device: return "device";
    case MemoryKind::AsyncPool: return "async pool";
    case MemoryKind::Managed: return "managed";
    case MemoryKind::PinnedHost: return "pinned host";
    case MemoryKind::HostRegistered: return "host registered";
    case MemoryKind::VirtualReserve: return "virtual address reserve";
    case MemoryKind::VirtualPhysical: return "virtual memory (physical)";
    case MemoryKind::VirtualMap: return "virtual mapping";
    case MemoryKind::MemoryPool: return "memory pool";
    case MemoryKind::Block: return "tensor block";
    case MemoryKind::Heap: return "allocator heap";
  }
  return "unknown";
}

std::string_view to_string(Api api) {
  switch (api) {
#define VRAMSCOPE_API_NAME(name) \
  case Api::name: return #name;
    VRAMSCOPE_API_NAME(None)
    VRAMSCOPE_API_NAME(cuMemAlloc)
    VRAMSCOPE_API_NAME(cuMemAllocPitch)
    VRAMSCOPE_API_NAME(cuMemFree)
    VRAMSCOPE_API_NAME(cuMemAllocAsync)
    VRAMSCOPE_API_NAME(cuMemAllocFromPoolAsync)
    VRAMSCOPE_API_NAME(cuMemFreeAsync)
    VRAMSCOPE_API_NAME(cuMemAllocManaged)
    VRAMSCOPE_API_NAME(cuMemHostAlloc)
    VRAMSCOPE_API_NAME(cuMemAllocHost)
    VRAMSCOPE_API_NAME(cuMemFreeHost)
    VRAMSCOPE_API_NAME(cuMemHostRegister)
    VRAMSCOPE_API_NAME(cuMemHostUnregister)
    VRAMSCOPE_API_NAME(cuMemAddressReserve)
    VRAMSCOPE_API_NAME(cuMemAddressFree)
    VRAMSCOPE_API_NAME(cuMemCreate)
    VRAMSCOPE_API_NAME(cuMemRelease)
    VRAMSCOPE_API_NAME(cuMemMap)
    VRAMSCOPE_API_NAME(cuMemUnmap)
    VRAMSCOPE_API_NAME(cuMemPoolCreate)
    VRAMSCOPE_API_NAME(cuMemPoolDestroy)
    VRAMSCOPE_API_NAME(cuMemPoolTrimTo)
    VRAMSCOPE_API_NAME(cudaMalloc)
    VRAMSCOPE_API_NAME(cudaMallocPitch)
    VRAMSCOPE_API_NAME(cudaFree)
    VRAMSCOPE_API_NAME(cudaMallocAsync)
    VRAMSCOPE_API_NAME(cudaMallocFromPoolAsync)
    VRAMSCOPE_API_NAME(cudaFreeAsync)
    VRAMSCOPE_API_NAME(cudaMallocManaged)
    VRAMSCOPE_API_NAME(cudaMallocHost)
    VRAMSCOPE_API_NAME(cudaHostAlloc)
    VRAMSCOPE_API_NAME(cudaFreeHost)
    VRAMSCOPE_API_NAME(cudaHostRegister)
    VRAMSCOPE_API_NAME(cudaHostUnregister)
    VRAMSCOPE_API_NAME(cudaMemPoolCreate)
    VRAMSCOPE_API_NAME(cudaMemPoolDestroy)
    VRAMSCOPE_API_NAME(cudaMemPoolTrimTo)
    VRAMSCOPE_API_NAME(cudaMalloc3D)
    VRAMSCOPE_API_NAME(nvtxMemHeapRegister)
    VRAMSCOPE_API_NAME(nvtxMemHeapUnregister)
    VRAMSCOPE_API_NAME(nvtxMemHeapReset)
    VRAMSCOPE_API_NAME(nvtxMemRegionsRegister)
    VRAMSCOPE_API_NAME(nvtxMemRegionsResize)
    VRAMSCOPE_API_NAME(nvtxMemRegionsUnregister)
    case Api::cachingAllocator:
      return "caching allocator";
#undef VRAMSCOPE_API_NAME
  }
  return "unknown";
}

}  // namespace vramscope::trace
