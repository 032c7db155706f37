// simcuda_selftest: checks the promises simcuda makes to the profiler's tests:
// cuGetProcAddress contracts, errors, accounting, VMM aliasing, fork, runtime
// semantics. Loads both libraries by path (no LD_LIBRARY_PATH needed); prints
// one line per failed check and "simcuda_selftest: ok" when all pass.
#include <cuda.h>
#include <cuda_runtime_api.h>
#include <dlfcn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace {

int failures = 0;

#define EXPECT(condition)                                                              \
  do {                                                                                 \
    if (!(condition)) {                                                                \
      std::fprintf(stderr, "simcuda_selftest:%d: failed: %s\n", __LINE__, #condition); \
      ++failures;                                                                      \
    }                                                                                  \
  } while (0)

constexpr size_t kMiB = size_t{1} << 20;

void* driver_handle = nullptr;
void* runtime_handle = nullptr;

template <typename F>
F sym(void* handle, const char* name) {
  void* p = dlsym(handle, name);
  if (p == nullptr) {
    std::fprintf(stderr, "simcuda_selftest: missing export %s\n", name);
    std::exit(1);
  }
  return reinterpret_cast<F>(p);
}

#define DRV(name) sym<decltype(&::name)>(driver_handle, #name)
#define RT(name) sym<decltype(&::name)>(runtime_handle, #name)

void* proc(const char* base, int version = 13000, cuuint64_t flags = 0,
           CUdriverProcAddressQueryResult* status = nullptr, CUresult* result = nullptr) {
  void* p = nullptr;
  CUresult r = DRV(cuGetProcAddress_v2)(base, &p, version, flags, status);
  if (result != nullptr) *result = r;
  return p;
}

size_t free_bytes() {
  size_t free = 0, total = 0;
  DRV(cuMemGetInfo_v2)(&free, &total);
  return free;
}

void check_proc_address() {
  const char* pairs[][2] = {
      {"cuInit", "cuInit"},
      {"cuMemAlloc", "cuMemAlloc_v2"},
      {"cuMemFree", "cuMemFree_v2"},
      {"cuMemGetInfo", "cuMemGetInfo_v2"},
      {"cuMemAllocPitch", "cuMemAllocPitch_v2"},
      {"cuMemAllocHost", "cuMemAllocHost_v2"},
      {"cuMemHostRegister", "cuMemHostRegister_v2"},
      {"cuMemAllocAsync", "cuMemAllocAsync"},
      {"cuMemCreate", "cuMemCreate"},
      {"cuCtxCreate", "cuCtxCreate_v4"},
      {"cuCtxGetDevice", "cuCtxGetDevice_v2"},
      {"cuGetProcAddress", "cuGetProcAddress_v2"},
      {"cuDevicePrimaryCtxRelease", "cuDevicePrimaryCtxRelease_v2"},
      {"cuEventElapsedTime", "cuEventElapsedTime_v2"},
      {"cuStreamDestroy", "cuStreamDestroy_v2"},
      {"cuMemcpyHtoD", "cuMemcpyHtoD_v2"},
      {"cuMemsetD8", "cuMemsetD8_v2"},
  };
  for (auto& [base, exported] : pairs) {
    CUdriverProcAddressQueryResult status{};
    void* p = proc(base, 13000, CU_GET_PROC_ADDRESS_DEFAULT, &status);
    EXPECT(p != nullptr && p == dlsym(driver_handle, exported));
    EXPECT(status == CU_GET_PROC_ADDRESS_SUCCESS);
  }
  const char* per_thread[][2] = {
      {"cuMemAllocAsync", "cuMemAllocAsync_ptsz"},
      {"cuMemFreeAsync", "cuMemFreeAsync_ptsz"},
      {"cuMemcpyHtoD", "cuMemcpyHtoD_v2_ptds"},
      {"cuMemcpy", "cuMemcpy_ptds"},
      {"cuStreamSynchronize", "cuStreamSynchronize_ptsz"},
      {"cuMemAlloc", "cuMemAlloc_v2"},  // no per-thread form: the legacy one
  };
  for (auto& [base, exported] : per_thread) {
    EXPECT(proc(base, 13000, CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM) ==
           dlsym(driver_handle, exported));
  }
  EXPECT(proc("cuGetProcAddress", 11030) == dlsym(driver_handle, "cuGetProcAddress"));
  EXPECT(proc("cuCtxGetDevice", 12000) == dlsym(driver_handle, "cuCtxGetDevice"));

  CUdriverProcAddressQueryResult status{};
  CUresult result{};
  EXPECT(proc("cuNoSuchFunction", 13000, 0, &status, &result) == nullptr);
  EXPECT(result == CUDA_ERROR_NOT_FOUND && status == CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND);
  EXPECT(proc("cuMemAlloc_v2", 13000, 0, &status, &result) == nullptr);  // base names only
  EXPECT(result == CUDA_ERROR_NOT_FOUND && status == CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND);
  EXPECT(proc("cuMemCreate", 10010, 0, &status, &result) == nullptr);
  EXPECT(result == CUDA_ERROR_NOT_FOUND && status == CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT);
  proc("cuMemAlloc", 13010, 0, nullptr, &result);
  EXPECT(result == CUDA_ERROR_INVALID_VALUE);
}

// A child of a process that had not initialized CUDA uses it normally.
void check_fork_before_init() {
  pid_t child = fork();
  if (child == 0) {
    CUcontext context = nullptr;
    CUdeviceptr p = 0;
    bool ok = DRV(cuInit)(0) == CUDA_SUCCESS && DRV(cuDevicePrimaryCtxRetain)(&context, 0) == CUDA_SUCCESS &&
              DRV(cuCtxSetCurrent)(context) == CUDA_SUCCESS && DRV(cuMemAlloc_v2)(&p, kMiB) == CUDA_SUCCESS &&
              DRV(cuMemFree_v2)(p) == CUDA_SUCCESS;
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  EXPECT(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

void check_driver() {
  CUdeviceptr p = 0;
  int count = 0, version = 0;
  EXPECT(DRV(cuMemAlloc_v2)(&p, 1) == CUDA_ERROR_NOT_INITIALIZED);
  EXPECT(DRV(cuDeviceGetCount)(&count) == CUDA_ERROR_NOT_INITIALIZED);
  EXPECT(DRV(cuDriverGetVersion)(&version) == CUDA_SUCCESS && version == 13000);
  check_fork_before_init();

  EXPECT(DRV(cuInit)(0) == CUDA_SUCCESS);
  EXPECT(DRV(cuDeviceGetCount)(&count) == CUDA_SUCCESS && count == 2);
  CUdevice device = -1;
  EXPECT(DRV(cuDeviceGet)(&device, 2) == CUDA_ERROR_INVALID_DEVICE);
  EXPECT(DRV(cuDeviceGet)(nullptr, 0) == CUDA_ERROR_INVALID_VALUE);
  char name[64];
  EXPECT(DRV(cuDeviceGetName)(name, sizeof(name), 0) == CUDA_SUCCESS &&
         std::strcmp(name, "vramscope simcuda (simulated)") == 0);
  int major = 0;
  EXPECT(DRV(cuDeviceGetAttribute)(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, 0) == CUDA_SUCCESS &&
         major == 9);
  EXPECT(DRV(cuMemAlloc_v2)(&p, 1) == CUDA_ERROR_INVALID_CONTEXT);

  CUcontext primary0 = nullptr, primary1 = nullptr;
  EXPECT(DRV(cuDevicePrimaryCtxRetain)(&primary0, 0) == CUDA_SUCCESS);
  EXPECT(DRV(cuDevicePrimaryCtxRetain)(&primary1, 1) == CUDA_SUCCESS);
  EXPECT(DRV(cuCtxSetCurrent)(primary0) == CUDA_SUCCESS);
  size_t free = 0, total = 0;
  EXPECT(DRV(cuMemGetInfo_v2)(&free, &total) == CUDA_SUCCESS);
  EXPECT(total == 1024 * kMiB && free == (1024 - 128) * kMiB);

  // Charged in granules; failures change nothing.
  CUdeviceptr one = 0;
  EXPECT(DRV(cuMemAlloc_v2)(&one, 1) == CUDA_SUCCESS && free_bytes() == (1024 - 128 - 2) * kMiB);
  EXPECT(DRV(cuMemAlloc_v2)(nullptr, 1) == CUDA_ERROR_INVALID_VALUE);
  EXPECT(DRV(cuMemAlloc_v2)(&p, SIZE_MAX) == CUDA_ERROR_OUT_OF_MEMORY);
  std::vector<CUdeviceptr> chunks;
  while (DRV(cuMemAlloc_v2)(&p, 100 * kMiB) == CUDA_SUCCESS) chunks.push_back(p);
  EXPECT(chunks.size() == 8 && free_bytes() == (1024 - 128 - 2 - 800) * kMiB);
  for (auto c : chunks) EXPECT(DRV(cuMemFree_v2)(c) == CUDA_SUCCESS);
  EXPECT(DRV(cuMemFree_v2)(chunks[0]) == CUDA_ERROR_INVALID_VALUE);
  EXPECT(DRV(cuMemFree_v2)(12345) == CUDA_ERROR_INVALID_VALUE);

  size_t pitch = 0;
  EXPECT(DRV(cuMemAllocPitch_v2)(&p, &pitch, 1000, 3, 4) == CUDA_SUCCESS && pitch == 1024);
  EXPECT(DRV(cuMemFree_v2)(p) == CUDA_SUCCESS);

  // What the driver says about a pointer, inside an allocation too.
  unsigned int type = 0;
  CUdeviceptr start = 0;
  size_t size = 0;
  EXPECT(DRV(cuPointerGetAttribute)(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, one) == CUDA_SUCCESS &&
         type == CU_MEMORYTYPE_DEVICE);
  EXPECT(DRV(cuMemAlloc_v2)(&p, 3 * kMiB) == CUDA_SUCCESS);
  EXPECT(DRV(cuMemGetAddressRange_v2)(&start, &size, p + 100) == CUDA_SUCCESS && start == p &&
         size == 3 * kMiB);
  EXPECT(DRV(cuMemFree_v2)(p) == CUDA_SUCCESS);
  void* host = nullptr;
  EXPECT(DRV(cuMemAllocHost_v2)(&host, 5000) == CUDA_SUCCESS && free_bytes() == (1024 - 128 - 2) * kMiB);
  EXPECT(DRV(cuPointerGetAttribute)(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, (CUdeviceptr)host) ==
             CUDA_SUCCESS &&
         type == CU_MEMORYTYPE_HOST);
  EXPECT(DRV(cuMemHostRegister_v2)(host, 10, 0) == CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED);
  EXPECT(DRV(cuMemFreeHost)(host) == CUDA_SUCCESS);
  std::vector<char> buffer(8192);
  EXPECT(DRV(cuMemHostUnregister)(buffer.data()) == CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED);
  EXPECT(DRV(cuMemHostRegister_v2)(buffer.data(), buffer.size(), 0) == CUDA_SUCCESS);
  EXPECT(DRV(cuMemHostUnregister)(buffer.data()) == CUDA_SUCCESS);

  // Each device has its own capacity.
  EXPECT(DRV(cuCtxSetCurrent)(primary1) == CUDA_SUCCESS);
  EXPECT(free_bytes() == (1024 - 128) * kMiB);
  EXPECT(DRV(cuMemAlloc_v2)(&p, 10 * kMiB) == CUDA_SUCCESS && free_bytes() == (1024 - 128 - 10) * kMiB);
  EXPECT(DRV(cuDevicePrimaryCtxReset_v2)(1) == CUDA_SUCCESS && free_bytes() == (1024 - 128) * kMiB);
  EXPECT(DRV(cuCtxSetCurrent)(primary0) == CUDA_SUCCESS);

  // Created contexts stack, and take their memory with them.
  CUcontext created = nullptr, current = nullptr;
  EXPECT(DRV(cuCtxCreate_v4)(&created, nullptr, 0, 0) == CUDA_SUCCESS);
  EXPECT(DRV(cuCtxGetCurrent)(&current) == CUDA_SUCCESS && current == created);
  EXPECT(DRV(cuMemAlloc_v2)(&p, 20 * kMiB) == CUDA_SUCCESS);
  EXPECT(DRV(cuCtxDestroy_v2)(created) == CUDA_SUCCESS);
  EXPECT(DRV(cuCtxGetCurrent)(&current) == CUDA_SUCCESS && current == primary0);
  EXPECT(free_bytes() == (1024 - 128 - 2) * kMiB);
  EXPECT(DRV(cuCtxSetCurrent)(created) == CUDA_ERROR_INVALID_CONTEXT);

  // Pools, and stream-ordered allocation.
  CUmemPoolProps props{};
  props.allocType = CU_MEM_ALLOCATION_TYPE_PINNED;
  props.location = {CU_MEM_LOCATION_TYPE_DEVICE, 0};
  CUmemoryPool pool = nullptr, reported = nullptr;
  CUstream stream = nullptr;
  EXPECT(DRV(cuStreamCreate)(&stream, 0) == CUDA_SUCCESS);
  EXPECT(DRV(cuMemPoolCreate)(&pool, &props) == CUDA_SUCCESS);
  EXPECT(DRV(cuMemAllocFromPoolAsync)(&p, 3 * kMiB, pool, stream) == CUDA_SUCCESS);
  EXPECT(DRV(cuPointerGetAttribute)(&reported, CU_POINTER_ATTRIBUTE_MEMPOOL_HANDLE, p) == CUDA_SUCCESS &&
         reported == pool);
  EXPECT(DRV(cuMemPoolDestroy)(pool) == CUDA_SUCCESS);
  EXPECT(DRV(cuMemFreeAsync)(p, stream) == CUDA_SUCCESS && free_bytes() == (1024 - 128 - 2) * kMiB);
  EXPECT(DRV(cuMemAllocAsync)(&p, kMiB, reinterpret_cast<CUstream>(0x1234)) == CUDA_ERROR_INVALID_HANDLE);
  EXPECT(DRV(cuStreamDestroy_v2)(stream) == CUDA_SUCCESS);

  // VMM: one chunk mapped twice aliases, is charged once, and outlives cuMemRelease until unmapped.
  CUmemAllocationProp prop{};
  prop.type = CU_MEM_ALLOCATION_TYPE_PINNED;
  prop.location = {CU_MEM_LOCATION_TYPE_DEVICE, 0};
  size_t g = 0;
  EXPECT(DRV(cuMemGetAllocationGranularity)(&g, &prop, CU_MEM_ALLOC_GRANULARITY_MINIMUM) == CUDA_SUCCESS &&
         g == 2 * kMiB);
  CUdeviceptr base = 0;
  CUmemGenericAllocationHandle handle = 0;
  EXPECT(DRV(cuMemAddressReserve)(&base, 4 * g, 0, 0, 0) == CUDA_SUCCESS && base % g == 0);
  EXPECT(DRV(cuMemCreate)(&handle, 2 * g, &prop, 0) == CUDA_SUCCESS);
  EXPECT(DRV(cuMemCreate)(&handle, g + 1, &prop, 0) == CUDA_ERROR_INVALID_VALUE);
  EXPECT(free_bytes() == (1024 - 128 - 2 - 4) * kMiB);
  EXPECT(DRV(cuMemMap)(base, 2 * g, 0, handle, 0) == CUDA_SUCCESS);
  EXPECT(DRV(cuMemMap)(base + 2 * g, 2 * g, 0, handle, 0) == CUDA_SUCCESS);
  EXPECT(DRV(cuMemMap)(base, 2 * g, 0, handle, 0) == CUDA_ERROR_ALREADY_MAPPED);
  CUmemAccessDesc access{prop.location, CU_MEM_ACCESS_FLAGS_PROT_READWRITE};
  EXPECT(DRV(cuMemSetAccess)(base, 4 * g, &access, 1) == CUDA_SUCCESS);
  reinterpret_cast<char*>(base)[123] = 42;
  EXPECT(reinterpret_cast<char*>(base + 2 * g)[123] == 42);
  EXPECT(DRV(cuMemRelease)(handle) == CUDA_SUCCESS && free_bytes() == (1024 - 128 - 2 - 4) * kMiB);
  EXPECT(DRV(cuMemUnmap)(base, 4 * g) == CUDA_SUCCESS && free_bytes() == (1024 - 128 - 2) * kMiB);
  EXPECT(DRV(cuMemAddressFree)(base, 4 * g) == CUDA_SUCCESS);

  const char* text = nullptr;
  EXPECT(DRV(cuGetErrorName)(CUDA_ERROR_OUT_OF_MEMORY, &text) == CUDA_SUCCESS &&
         std::strcmp(text, "CUDA_ERROR_OUT_OF_MEMORY") == 0);

  // Many threads at once, each with its own current context.
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([primary0] {
      DRV(cuCtxSetCurrent)(primary0);
      for (int i = 0; i < 10000; ++i) {
        CUdeviceptr q = 0;
        if (DRV(cuMemAlloc_v2)(&q, kMiB) == CUDA_SUCCESS) DRV(cuMemFree_v2)(q);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT(free_bytes() == (1024 - 128 - 2) * kMiB);
  EXPECT(DRV(cuMemFree_v2)(one) == CUDA_SUCCESS);
}

void check_runtime() {
  void* p = nullptr;
  int count = 0;
  EXPECT(RT(cudaGetDeviceCount)(&count) == cudaSuccess && count == 2);
  cudaDeviceProp prop{};
  EXPECT(RT(cudaGetDeviceProperties)(&prop, 0) == cudaSuccess && prop.major == 9 &&
         prop.totalGlobalMem == 1024 * kMiB && std::strcmp(prop.name, "vramscope simcuda (simulated)") == 0);
  EXPECT(RT(cudaSetDevice)(5) == cudaErrorInvalidDevice);
  EXPECT(RT(cudaGetLastError)() == cudaErrorInvalidDevice);
  EXPECT(RT(cudaGetLastError)() == cudaSuccess);

  // Out of memory: recorded, reported once, not sticky.
  EXPECT(RT(cudaMalloc)(&p, 2048 * kMiB) == cudaErrorMemoryAllocation);
  EXPECT(RT(cudaPeekAtLastError)() == cudaErrorMemoryAllocation);
  EXPECT(RT(cudaGetLastError)() == cudaErrorMemoryAllocation);
  EXPECT(RT(cudaGetLastError)() == cudaSuccess);
  EXPECT(std::strcmp(RT(cudaGetErrorName)(cudaErrorMemoryAllocation), "cudaErrorMemoryAllocation") == 0);

  EXPECT(RT(cudaMalloc)(&p, 0) == cudaSuccess && p == nullptr);
  EXPECT(RT(cudaFree)(nullptr) == cudaSuccess);
  int bogus = 0;
  EXPECT(RT(cudaFree)(&bogus) == cudaErrorInvalidValue);
  RT(cudaGetLastError)();

  const char message[] = "through the device";
  char back[sizeof(message)] = {};
  EXPECT(RT(cudaMalloc)(&p, sizeof(message)) == cudaSuccess);
  EXPECT(RT(cudaMemcpy)(p, message, sizeof(message), cudaMemcpyHostToDevice) == cudaSuccess);
  EXPECT(RT(cudaMemcpy)(back, p, sizeof(message), cudaMemcpyDeviceToHost) == cudaSuccess);
  EXPECT(std::strcmp(back, message) == 0);
  EXPECT(RT(cudaFree)(p) == cudaSuccess);

  void* entry = nullptr;
  cudaDriverEntryPointQueryResult status{};
  EXPECT(RT(cudaGetDriverEntryPointByVersion)("cuMemAlloc", &entry, 13000, cudaEnableDefault, &status) ==
             cudaSuccess &&
         status == cudaDriverEntryPointSuccess && entry == dlsym(driver_handle, "cuMemAlloc_v2"));
  // Deprecated in the header, still exported: spelled out to keep the build quiet.
  using GetDriverEntryPoint =
      cudaError_t (*)(const char*, void**, unsigned long long, cudaDriverEntryPointQueryResult*);
  auto get_entry_point = sym<GetDriverEntryPoint>(runtime_handle, "cudaGetDriverEntryPoint");
  EXPECT(get_entry_point("cuNoSuchFunction", &entry, cudaEnableDefault, &status) == cudaSuccess &&
         entry == nullptr && status == cudaDriverEntryPointSymbolNotFound);

  // A thread with no context gets device 0's primary context implicitly.
  bool thread_ok = false;
  std::thread([&] {
    void* q = nullptr;
    thread_ok = RT(cudaMalloc)(&q, kMiB) == cudaSuccess && RT(cudaFree)(q) == cudaSuccess;
  }).join();
  EXPECT(thread_ok);
}

}  // namespace

int main() {
  setenv("VRAMSCOPE_SIM_DEVICES", "2", 1);
  setenv("VRAMSCOPE_SIM_CAPACITY", "1GiB", 1);
  setenv("VRAMSCOPE_SIM_OTHER_PROCESS", "128MiB", 1);
  setenv("VRAMSCOPE_SIM_GRANULARITY", "2MiB", 1);
  driver_handle = dlopen(SIMCUDA_DIR "/libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
  if (driver_handle == nullptr) {
    std::fprintf(stderr, "simcuda_selftest: %s\n", dlerror());
    return 1;
  }
  check_proc_address();
  check_driver();
  // The runtime's own dlopen("libcuda.so.1") finds the driver already loaded, by soname.
  runtime_handle = dlopen(SIMCUDA_DIR "/libcudart.so.13", RTLD_NOW | RTLD_LOCAL);
  if (runtime_handle == nullptr) {
    std::fprintf(stderr, "simcuda_selftest: %s\n", dlerror());
    return 1;
  }
  check_runtime();
  if (failures != 0) {
    std::fprintf(stderr, "simcuda_selftest: %d checks failed\n", failures);
    return 1;
  }
  std::printf("simcuda_selftest: ok\n");
  return 0;
}
