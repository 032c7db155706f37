// dlsym_driver: driver functions found the ways frameworks find them, with no
// link-time reference to libcuda: dlopen + dlsym, cuGetProcAddress_v2, and the
// runtime's cudaGetDriverEntryPointByVersion. A profiler that only interposes
// symbols sees none of these allocations.
//
// Exact allocation pattern (every allocation a cuMemAlloc_v2 called through a pointer):
//   allocate_through_proc_address       3 x 64 MiB (67108864 bytes), pointer from
//                                       cuGetProcAddress_v2("cuMemAlloc", 13000); all 3 live
//                                       together, then freed (cuMemFree from the same place).
//   allocate_through_runtime_entry_point  1 x 32 MiB (33554432 bytes), pointer from
//                                       cudaGetDriverEntryPointByVersion("cuMemAlloc", 13000); freed.
//   allocate_through_dlsym              1 x 16 MiB (16777216 bytes), pointer from
//                                       dlsym(handle, "cuMemAlloc_v2"); freed.
//   allocations = frees = 5; 251658240 bytes (240 MiB) in all; peak 201326592
//   bytes (192 MiB); nothing live at exit. Before them: cuInit, the primary
//   context of device 0 retained and made current (released at the end).
#include <cuda.h>
#include <dlfcn.h>

#include <cstdint>
#include <cstdio>

#include "common/sample_support.h"

namespace {

constexpr const char* kUsage =
    "usage: dlsym_driver\n"
    "Allocates through driver pointers from dlsym, cuGetProcAddress_v2 and\n"
    "cudaGetDriverEntryPointByVersion: 3 x 64 MiB, 1 x 32 MiB, 1 x 16 MiB.\n";

constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr int kCudaVersion = 13000;

using MemAlloc = decltype(&cuMemAlloc_v2);
using MemFree = decltype(&cuMemFree_v2);

struct Driver {
  void* handle = nullptr;
  decltype(&cuGetProcAddress_v2) get_proc_address = nullptr;
  decltype(&cuGetErrorName) get_error_name = nullptr;
};

void check(const Driver& d, CUresult result, const char* call) {
  if (result == CUDA_SUCCESS) return;
  const char* name = "unknown CUresult";
  if (d.get_error_name != nullptr) d.get_error_name(result, &name);
  sample::fail(call, name);
}

template <typename Function>
Function proc_address(const Driver& d, const char* base) {
  void* p = nullptr;
  CUdriverProcAddressQueryResult status{};
  check(d, d.get_proc_address(base, &p, kCudaVersion, CU_GET_PROC_ADDRESS_DEFAULT, &status),
        "cuGetProcAddress_v2");
  if (p == nullptr || status != CU_GET_PROC_ADDRESS_SUCCESS) sample::fail("cuGetProcAddress_v2", base);
  return reinterpret_cast<Function>(p);
}

template <typename Function>
Function runtime_entry_point(const char* base) {
  void* p = nullptr;
  cudaDriverEntryPointQueryResult status{};
  sample::check(cudaGetDriverEntryPointByVersion(base, &p, kCudaVersion, cudaEnableDefault, &status),
                "cudaGetDriverEntryPointByVersion");
  if (p == nullptr || status != cudaDriverEntryPointSuccess)
    sample::fail("cudaGetDriverEntryPointByVersion", base);
  return reinterpret_cast<Function>(p);
}

__attribute__((noinline)) CUdeviceptr allocate_through_proc_address(const Driver& d, MemAlloc mem_alloc) {
  CUdeviceptr p = 0;
  check(d, mem_alloc(&p, 64 * kMiB), "cuMemAlloc (cuGetProcAddress_v2)");
  return p;
}

__attribute__((noinline)) CUdeviceptr allocate_through_runtime_entry_point(const Driver& d,
                                                                           MemAlloc mem_alloc) {
  CUdeviceptr p = 0;
  check(d, mem_alloc(&p, 32 * kMiB), "cuMemAlloc (cudaGetDriverEntryPointByVersion)");
  return p;
}

__attribute__((noinline)) CUdeviceptr allocate_through_dlsym(const Driver& d, MemAlloc mem_alloc) {
  CUdeviceptr p = 0;
  check(d, mem_alloc(&p, 16 * kMiB), "cuMemAlloc (dlsym)");
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  sample::CommandLine args(argc, argv, kUsage);
  args.finish();

  Driver d;
  d.handle = dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
  if (d.handle == nullptr) sample::fail("dlopen(libcuda.so.1)", dlerror());
  d.get_proc_address = reinterpret_cast<decltype(d.get_proc_address)>(dlsym(d.handle, "cuGetProcAddress_v2"));
  if (d.get_proc_address == nullptr) sample::fail("dlsym(cuGetProcAddress_v2)", dlerror());
  d.get_error_name = proc_address<decltype(&cuGetErrorName)>(d, "cuGetErrorName");
  std::printf("dlsym_driver: cuGetProcAddress_v2 found with dlsym\n");

  check(d, proc_address<decltype(&cuInit)>(d, "cuInit")(0), "cuInit");
  CUdevice device = 0;
  check(d, proc_address<decltype(&cuDeviceGet)>(d, "cuDeviceGet")(&device, 0), "cuDeviceGet");
  CUcontext context = nullptr;
  check(d, proc_address<decltype(&cuDevicePrimaryCtxRetain)>(d, "cuDevicePrimaryCtxRetain")(&context, device),
        "cuDevicePrimaryCtxRetain");
  check(d, proc_address<decltype(&cuCtxSetCurrent)>(d, "cuCtxSetCurrent")(context), "cuCtxSetCurrent");

  auto mem_alloc = proc_address<MemAlloc>(d, "cuMemAlloc");
  auto mem_free = proc_address<MemFree>(d, "cuMemFree");
  CUdeviceptr chunks[3];
  for (auto& p : chunks) p = allocate_through_proc_address(d, mem_alloc);
  for (auto p : chunks) check(d, mem_free(p), "cuMemFree (cuGetProcAddress_v2)");
  std::printf("dlsym_driver: 3 allocations of %llu bytes through cuGetProcAddress_v2\n",
              static_cast<unsigned long long>(64 * kMiB));

  auto rt_mem_alloc = runtime_entry_point<MemAlloc>("cuMemAlloc");
  auto rt_mem_free = runtime_entry_point<MemFree>("cuMemFree");
  check(d, rt_mem_free(allocate_through_runtime_entry_point(d, rt_mem_alloc)),
        "cuMemFree (cudaGetDriverEntryPointByVersion)");
  std::printf("dlsym_driver: 1 allocation of %llu bytes through cudaGetDriverEntryPointByVersion\n",
              static_cast<unsigned long long>(32 * kMiB));

  auto dl_mem_alloc = reinterpret_cast<MemAlloc>(dlsym(d.handle, "cuMemAlloc_v2"));
  auto dl_mem_free = reinterpret_cast<MemFree>(dlsym(d.handle, "cuMemFree_v2"));
  if (dl_mem_alloc == nullptr || dl_mem_free == nullptr) sample::fail("dlsym(cuMemAlloc_v2)", dlerror());
  check(d, dl_mem_free(allocate_through_dlsym(d, dl_mem_alloc)), "cuMemFree (dlsym)");
  std::printf("dlsym_driver: 1 allocation of %llu bytes through dlsym(cuMemAlloc_v2)\n",
              static_cast<unsigned long long>(16 * kMiB));

  check(d, proc_address<decltype(&cuDevicePrimaryCtxRelease_v2)>(d, "cuDevicePrimaryCtxRelease")(device),
        "cuDevicePrimaryCtxRelease");
  std::printf("dlsym_driver: 5 allocations, %llu bytes, all freed\n",
              static_cast<unsigned long long>(3 * 64 * kMiB + 32 * kMiB + 16 * kMiB));
  return 0;
}
