// The CUPTI backend's reading of driver callbacks: each memory call's
// parameters and result, as CUPTI hands them over at the call's exit, give
// the event the preload's own hooks record for the same call.
// generated_cuda_meta.h's parameter structs name the driver's old (_v1)
// types, which cuda.h declares only for the driver's own build.
#define __CUDA_API_VERSION_INTERNAL 1
#include <doctest/doctest.h>
#include <generated_cuda_meta.h>

#include <algorithm>

#include "injector/cupti_events.h"

using namespace vramscope;
using inject::cupti::CallEvent;
using inject::cupti::event_of;
using trace::Api;
using trace::MemoryKind;
using Type = CallEvent::Type;

TEST_CASE("CUPTI callbacks: cuMemAlloc_v2, its failure, and cuMemFree_v2") {
  CUdeviceptr pointer = 0x7f0000200000;
  cuMemAlloc_v2_params alloc{&pointer, 3 << 20};
  std::optional<CallEvent> e = event_of(CUPTI_DRIVER_TRACE_CBID_cuMemAlloc_v2, &alloc, CUDA_SUCCESS);
  REQUIRE(e);
  CHECK(e->type == Type::Alloc);
  CHECK(e->kind == MemoryKind::Device);
  CHECK(e->api == Api::cuMemAlloc);
  CHECK(e->address == 0x7f0000200000);
  CHECK(e->size == 3 << 20);
  CHECK(e->device == inject::cupti::kCurrentDevice);

  e = event_of(CUPTI_DRIVER_TRACE_CBID_cuMemAlloc_v2, &alloc, CUDA_ERROR_OUT_OF_MEMORY);
  REQUIRE(e);
  CHECK(e->type == Type::Failed);
  CHECK(e->size == 3 << 20);
  CHECK(e->error == CUDA_ERROR_OUT_OF_MEMORY);

  cuMemFree_v2_params free{0x7f0000200000};
  e = event_of(CUPTI_DRIVER_TRACE_CBID_cuMemFree_v2, &free, CUDA_SUCCESS);
  REQUIRE(e);
  CHECK(e->type == Type::Free);
  CHECK(e->api == Api::cuMemFree);
  CHECK(e->address == 0x7f0000200000);
  CHECK(inject::cupti::frees(CUPTI_DRIVER_TRACE_CBID_cuMemFree_v2));
  // A free that failed freed nothing; nor does a free of null.
  CHECK_FALSE(event_of(CUPTI_DRIVER_TRACE_CBID_cuMemFree_v2, &free, CUDA_ERROR_INVALID_VALUE));
  cuMemFree_v2_params null_free{0};
  CHECK_FALSE(event_of(CUPTI_DRIVER_TRACE_CBID_cuMemFree_v2, &null_free, CUDA_SUCCESS));
}

TEST_CASE("CUPTI callbacks: the per-thread-stream (_ptsz) ids read as the plain ones, with their stream") {
  CUdeviceptr pointer = 0x7f0000400000;
  auto stream = reinterpret_cast<CUstream>(0x5a5a);
  cuMemAllocAsync_params plain{&pointer, 4096, stream};
  cuMemAllocAsync_ptsz_params ptsz{&pointer, 4096, stream};
  for (auto [cbid, params] :
       {std::pair<CUpti_CallbackId, const void*>{CUPTI_DRIVER_TRACE_CBID_cuMemAllocAsync, &plain},
        {CUPTI_DRIVER_TRACE_CBID_cuMemAllocAsync_ptsz, &ptsz}}) {
    std::optional<CallEvent> e = event_of(cbid, params, CUDA_SUCCESS);
    REQUIRE(e);
    CHECK(e->kind == MemoryKind::AsyncPool);
    CHECK(e->api == Api::cuMemAllocAsync);
    CHECK(e->stream == 0x5a5a);
    CHECK(e->address == 0x7f0000400000);
  }
  auto pool = reinterpret_cast<CUmemoryPool>(0x9000);
  cuMemAllocFromPoolAsync_ptsz_params from_pool{&pointer, 8192, pool, stream};
  std::optional<CallEvent> e =
      event_of(CUPTI_DRIVER_TRACE_CBID_cuMemAllocFromPoolAsync_ptsz, &from_pool, CUDA_SUCCESS);
  REQUIRE(e);
  CHECK(e->api == Api::cuMemAllocFromPoolAsync);
  CHECK(e->size == 8192);
  cuMemFreeAsync_ptsz_params free{0x7f0000400000, stream};
  e = event_of(CUPTI_DRIVER_TRACE_CBID_cuMemFreeAsync_ptsz, &free, CUDA_SUCCESS);
  REQUIRE(e);
  CHECK(e->type == Type::Free);
  CHECK(e->kind == MemoryKind::AsyncPool);
  CHECK(e->stream == 0x5a5a);
}

TEST_CASE("CUPTI callbacks: pitch, managed, pinned host, virtual memory and pools") {
  CUdeviceptr pointer = 0x7f0000600000;
  size_t pitch = 1024;
  cuMemAllocPitch_v2_params pitched{&pointer, &pitch, 1000, 100, 4};
  std::optional<CallEvent> e = event_of(CUPTI_DRIVER_TRACE_CBID_cuMemAllocPitch_v2, &pitched, CUDA_SUCCESS);
  REQUIRE(e);
  CHECK(e->size == 102400);  // pitch × height, as the driver made it
  e = event_of(CUPTI_DRIVER_TRACE_CBID_cuMemAllocPitch_v2, &pitched, CUDA_ERROR_OUT_OF_MEMORY);
  REQUIRE(e);
  CHECK(e->size == 100000);  // what was asked for

  cuMemAllocManaged_params managed{&pointer, 1 << 20, 1};
  CHECK(event_of(CUPTI_DRIVER_TRACE_CBID_cuMemAllocManaged, &managed, CUDA_SUCCESS)->kind ==
        MemoryKind::Managed);

  void* host = reinterpret_cast<void*>(0x55550000);
  cuMemHostAlloc_params pinned{&host, 5 << 20, 0};
  e = event_of(CUPTI_DRIVER_TRACE_CBID_cuMemHostAlloc, &pinned, CUDA_SUCCESS);
  CHECK(e->kind == MemoryKind::PinnedHost);
  CHECK(e->address == 0x55550000);
  cuMemHostRegister_v2_params registered{host, 7 << 20, 0};
  e = event_of(CUPTI_DRIVER_TRACE_CBID_cuMemHostRegister_v2, &registered, CUDA_SUCCESS);
  CHECK(e->kind == MemoryKind::HostRegistered);
  CHECK(e->address == 0x55550000);
  CHECK(e->size == 7 << 20);

  CUmemGenericAllocationHandle handle = 0x77;
  CUmemAllocationProp prop{};
  prop.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
  prop.location.id = 3;
  cuMemCreate_params create{&handle, 2 << 20, &prop, 0};
  e = event_of(CUPTI_DRIVER_TRACE_CBID_cuMemCreate, &create, CUDA_SUCCESS);
  CHECK(e->kind == MemoryKind::VirtualPhysical);
  CHECK(e->address == 0x77);
  CHECK(e->device == 3);
  cuMemMap_params map{0x7f0000800000, 2 << 20, 0, 0x77, 0};
  e = event_of(CUPTI_DRIVER_TRACE_CBID_cuMemMap, &map, CUDA_SUCCESS);
  CHECK(e->kind == MemoryKind::VirtualMap);
  CHECK(e->address == 0x7f0000800000);
  cuMemUnmap_params unmap{0x7f0000800000, 2 << 20};
  e = event_of(CUPTI_DRIVER_TRACE_CBID_cuMemUnmap, &unmap, CUDA_SUCCESS);
  CHECK(e->type == Type::Free);
  CHECK(e->size == 2 << 20);  // a ranged free

  cuMemPoolTrimTo_params trim{reinterpret_cast<CUmemoryPool>(0x9000), 1 << 20};
  e = event_of(CUPTI_DRIVER_TRACE_CBID_cuMemPoolTrimTo, &trim, CUDA_SUCCESS);
  CHECK(e->type == Type::PoolTrim);
  CHECK(e->address == 0x9000);
  CHECK(e->size == 1 << 20);

  // Calls that are not about memory are none of ours.
  int anything = 0;
  CHECK_FALSE(event_of(CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel, &anything, CUDA_SUCCESS));
  auto calls = inject::cupti::memory_calls();
  CHECK(calls.size() == 24);
  CHECK(std::count(calls.begin(), calls.end(), CUPTI_DRIVER_TRACE_CBID_cuMemFreeAsync_ptsz) == 1);
  CHECK(std::count(calls.begin(), calls.end(), CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel) == 0);
}

TEST_CASE("CUPTI activity records: the memory and memory-pool records counted for the ledger") {
  inject::cupti::ActivityTally t;
  CUpti_ActivityMemory4 memory{};
  memory.kind = CUPTI_ACTIVITY_KIND_MEMORY2;
  memory.memoryKind = CUPTI_ACTIVITY_MEMORY_KIND_DEVICE;
  memory.memoryOperationType = CUPTI_ACTIVITY_MEMORY_OPERATION_TYPE_ALLOCATION;
  memory.address = 0x7f0000200000;
  memory.bytes = 1 << 20;
  auto as_record = [](const auto& r) -> const CUpti_Activity& {
    return reinterpret_cast<const CUpti_Activity&>(r);
  };
  inject::cupti::tally(as_record(memory), t);
  inject::cupti::tally(as_record(memory), t);
  memory.memoryOperationType = CUPTI_ACTIVITY_MEMORY_OPERATION_TYPE_RELEASE;
  inject::cupti::tally(as_record(memory), t);
  memory.memoryKind = CUPTI_ACTIVITY_MEMORY_KIND_MANAGED;
  memory.memoryOperationType = CUPTI_ACTIVITY_MEMORY_OPERATION_TYPE_ALLOCATION;
  inject::cupti::tally(as_record(memory), t);
  memory.memoryKind = CUPTI_ACTIVITY_MEMORY_KIND_PAGEABLE;  // host memory: not the callbacks' kinds
  inject::cupti::tally(as_record(memory), t);

  CUpti_ActivityMemoryPool3 pool{};
  pool.kind = CUPTI_ACTIVITY_KIND_MEMORY_POOL;
  pool.memoryPoolOperationType = CUPTI_ACTIVITY_MEMORY_POOL_OPERATION_TYPE_CREATED;
  inject::cupti::tally(as_record(pool), t);
  pool.memoryPoolOperationType = CUPTI_ACTIVITY_MEMORY_POOL_OPERATION_TYPE_TRIMMED;
  inject::cupti::tally(as_record(pool), t);
  inject::cupti::tally(as_record(pool), t);
  pool.memoryPoolOperationType = CUPTI_ACTIVITY_MEMORY_POOL_OPERATION_TYPE_DESTROYED;
  inject::cupti::tally(as_record(pool), t);

  CHECK(t.allocations == 3);
  CHECK(t.releases == 1);
  CHECK(t.other == 1);
  CHECK(t.pools_created == 1);
  CHECK(t.pools_trimmed == 2);
  CHECK(t.pools_destroyed == 1);

  // The callbacks' events of the same kinds.
  CallEvent device;
  device.kind = MemoryKind::Device;
  CHECK(inject::cupti::counted_by_activity(device));
  device.type = Type::Failed;
  CHECK_FALSE(inject::cupti::counted_by_activity(device));
  CallEvent mapping;
  mapping.kind = MemoryKind::VirtualMap;
  CHECK_FALSE(inject::cupti::counted_by_activity(mapping));
  CallEvent pinned;
  pinned.type = Type::Free;
  pinned.kind = MemoryKind::PinnedHost;
  CHECK(inject::cupti::counted_by_activity(pinned));
}
