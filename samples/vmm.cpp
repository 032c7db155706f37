// vmm: virtual memory management the way PyTorch's expandable segments use it:
// reserve address space once, back it with physical chunks as it grows.
//
// Exact pattern (driver API, linked directly; G = the granularity that
// cuMemGetAllocationGranularity reports, 2 MiB on simcuda by default and on current GPUs):
//   reserve_address_space   cuMemAddressReserve of 8G bytes (address space only).
//   create_physical_chunk   3 x cuMemCreate of 2G bytes each (6G of device memory).
//   map_chunk               the 3 chunks mapped back to back at offsets 0, 2G, 4G;
//                           then one cuMemSetAccess(read-write) over the 6G.
//   the 6G are filled with cuMemsetD8 and read back with cuMemcpyDtoH.
//   then: 3 x cuMemUnmap (one per chunk), 3 x cuMemRelease, cuMemAddressFree of the 8G.
//   Physical memory peak 6G (12582912 bytes at G = 2 MiB); nothing live at exit.
// Before that: cuInit, primary context of device 0 retained and made current
// (released at the end). No runtime API calls.
#include <cuda.h>

#include <cstdint>
#include <cstdio>
#include <vector>

#include "common/sample_support.h"

namespace {

constexpr const char* kUsage =
    "usage: vmm\n"
    "Reserves 8 granules of address space, creates 3 physical chunks of 2\n"
    "granules, maps them back to back, makes them accessible, then undoes it all.\n";

void check_cu(CUresult result, const char* call) {
  if (result == CUDA_SUCCESS) return;
  const char* name = nullptr;
  if (cuGetErrorName(result, &name) != CUDA_SUCCESS) name = "unknown CUresult";
  sample::fail(call, name);
}

CUmemAllocationProp device_memory(CUdevice device) {
  CUmemAllocationProp prop{};
  prop.type = CU_MEM_ALLOCATION_TYPE_PINNED;
  prop.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
  prop.location.id = device;
  return prop;
}

__attribute__((noinline)) CUdeviceptr reserve_address_space(size_t bytes) {
  CUdeviceptr base = 0;
  check_cu(cuMemAddressReserve(&base, bytes, 0, 0, 0), "cuMemAddressReserve");
  return base;
}

__attribute__((noinline)) CUmemGenericAllocationHandle create_physical_chunk(
    size_t bytes, const CUmemAllocationProp& prop) {
  CUmemGenericAllocationHandle handle = 0;
  check_cu(cuMemCreate(&handle, bytes, &prop, 0), "cuMemCreate");
  return handle;
}

__attribute__((noinline)) void map_chunk(CUdeviceptr at, size_t bytes, CUmemGenericAllocationHandle handle) {
  check_cu(cuMemMap(at, bytes, 0, handle, 0), "cuMemMap");
}

}  // namespace

int main(int argc, char** argv) {
  sample::CommandLine args(argc, argv, kUsage);
  args.finish();

  check_cu(cuInit(0), "cuInit");
  CUdevice device = 0;
  check_cu(cuDeviceGet(&device, 0), "cuDeviceGet");
  CUcontext context = nullptr;
  check_cu(cuDevicePrimaryCtxRetain(&context, device), "cuDevicePrimaryCtxRetain");
  check_cu(cuCtxSetCurrent(context), "cuCtxSetCurrent");

  const CUmemAllocationProp prop = device_memory(device);
  size_t granularity = 0;
  check_cu(cuMemGetAllocationGranularity(&granularity, &prop, CU_MEM_ALLOC_GRANULARITY_MINIMUM),
           "cuMemGetAllocationGranularity");
  std::printf("vmm: granularity %zu bytes\n", granularity);

  const size_t reserved = 8 * granularity;
  const size_t chunk = 2 * granularity;
  CUdeviceptr base = reserve_address_space(reserved);
  std::printf("vmm: reserved %zu bytes of address space\n", reserved);

  std::vector<CUmemGenericAllocationHandle> handles;
  for (int i = 0; i < 3; ++i) handles.push_back(create_physical_chunk(chunk, prop));
  for (size_t i = 0; i < handles.size(); ++i) map_chunk(base + i * chunk, chunk, handles[i]);
  const size_t mapped = handles.size() * chunk;
  CUmemAccessDesc access{};
  access.location = prop.location;
  access.flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
  check_cu(cuMemSetAccess(base, mapped, &access, 1), "cuMemSetAccess");
  std::printf("vmm: %zu chunks of %zu bytes mapped back to back\n", handles.size(), chunk);

  check_cu(cuMemsetD8(base, 0x5a, mapped), "cuMemsetD8");
  unsigned char last = 0;
  check_cu(cuMemcpyDtoH(&last, base + mapped - 1, 1), "cuMemcpyDtoH");
  if (last != 0x5a) sample::fail("cuMemcpyDtoH", "read back a different byte");
  std::printf("vmm: %zu mapped bytes written and read back\n", mapped);

  for (size_t i = 0; i < handles.size(); ++i) check_cu(cuMemUnmap(base + i * chunk, chunk), "cuMemUnmap");
  for (auto handle : handles) check_cu(cuMemRelease(handle), "cuMemRelease");
  check_cu(cuMemAddressFree(base, reserved), "cuMemAddressFree");
  check_cu(cuDevicePrimaryCtxRelease(device), "cuDevicePrimaryCtxRelease");
  std::printf("vmm: unmapped, released and freed\n");
  return 0;
}
