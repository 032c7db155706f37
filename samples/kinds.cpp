// kinds: one allocation of every kind the runtime offers, each with a known size.
//
// Exact allocation pattern, in this order (stream: one cudaStreamCreate'd stream;
// pool: one cudaMemPoolCreate'd pool on device 0):
//   allocate_device         cudaMalloc                  1 MiB    (1048576)
//   allocate_pitched        cudaMallocPitch             width 1000, height 100:
//                           pitch 1024 on simcuda (round_up(1000, 512)), 102400 bytes
//   allocate_async          cudaMallocAsync on stream   2 MiB    (2097152)
//   allocate_from_pool      cudaMallocFromPoolAsync     3 MiB    (3145728), pool, stream
//   allocate_managed        cudaMallocManaged           4 MiB    (4194304)
//   allocate_pinned_host    cudaMallocHost              5 MiB    (5242880), host memory
//   allocate_host_alloc     cudaHostAlloc               6 MiB    (6291456), host memory
//   register_host_buffer    cudaHostRegister of a malloc'd 7 MiB (7340032) buffer
// Then all undone in reverse: cudaHostUnregister, cudaFreeHost x2, cudaFree (managed),
// cudaFreeAsync x2 on the stream, cudaStreamSynchronize, cudaMemPoolDestroy,
// cudaStreamDestroy, cudaFree (pitched, device).
// Device memory in all: 10485760 + 102400 = 10588160 bytes (5 allocations);
// pinned or registered host memory: 18874368 bytes (3). Nothing live at exit.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "common/sample_support.h"

namespace {

constexpr const char* kUsage =
    "usage: kinds\n"
    "One allocation of each kind (device, pitched, async, pool, managed, pinned\n"
    "host, host alloc, registered host), all freed.\n";

constexpr size_t kMiB = size_t{1} << 20;

__attribute__((noinline)) void* allocate_device() {
  void* p = nullptr;
  sample::check(cudaMalloc(&p, 1 * kMiB), "cudaMalloc");
  return p;
}

__attribute__((noinline)) void* allocate_pitched(size_t* pitch) {
  void* p = nullptr;
  sample::check(cudaMallocPitch(&p, pitch, 1000, 100), "cudaMallocPitch");
  return p;
}

__attribute__((noinline)) void* allocate_async(cudaStream_t stream) {
  void* p = nullptr;
  sample::check(cudaMallocAsync(&p, 2 * kMiB, stream), "cudaMallocAsync");
  return p;
}

__attribute__((noinline)) void* allocate_from_pool(cudaMemPool_t pool, cudaStream_t stream) {
  void* p = nullptr;
  sample::check(cudaMallocFromPoolAsync(&p, 3 * kMiB, pool, stream), "cudaMallocFromPoolAsync");
  return p;
}

__attribute__((noinline)) void* allocate_managed() {
  void* p = nullptr;
  sample::check(cudaMallocManaged(&p, 4 * kMiB, cudaMemAttachGlobal), "cudaMallocManaged");
  return p;
}

__attribute__((noinline)) void* allocate_pinned_host() {
  void* p = nullptr;
  sample::check(cudaMallocHost(&p, 5 * kMiB), "cudaMallocHost");
  return p;
}

__attribute__((noinline)) void* allocate_host_alloc() {
  void* p = nullptr;
  sample::check(cudaHostAlloc(&p, 6 * kMiB, cudaHostAllocDefault), "cudaHostAlloc");
  return p;
}

__attribute__((noinline)) void* register_host_buffer() {
  void* p = std::malloc(7 * kMiB);
  if (p == nullptr) sample::fail("malloc", "out of host memory");
  sample::check(cudaHostRegister(p, 7 * kMiB, cudaHostRegisterDefault), "cudaHostRegister");
  return p;
}

cudaMemPool_t create_pool() {
  cudaMemPoolProps props{};
  props.allocType = cudaMemAllocationTypePinned;
  props.location.type = cudaMemLocationTypeDevice;
  props.location.id = 0;
  cudaMemPool_t pool = nullptr;
  sample::check(cudaMemPoolCreate(&pool, &props), "cudaMemPoolCreate");
  return pool;
}

}  // namespace

int main(int argc, char** argv) {
  sample::CommandLine args(argc, argv, kUsage);
  args.finish();

  void* device = allocate_device();
  std::printf("kinds: cudaMalloc %zu bytes\n", 1 * kMiB);
  size_t pitch = 0;
  void* pitched = allocate_pitched(&pitch);
  std::printf("kinds: cudaMallocPitch 1000 x 100, pitch %zu, %zu bytes\n", pitch, pitch * 100);

  cudaStream_t stream = nullptr;
  sample::check(cudaStreamCreate(&stream), "cudaStreamCreate");
  void* async = allocate_async(stream);
  std::printf("kinds: cudaMallocAsync %zu bytes\n", 2 * kMiB);
  cudaMemPool_t pool = create_pool();
  void* pooled = allocate_from_pool(pool, stream);
  std::printf("kinds: cudaMallocFromPoolAsync %zu bytes\n", 3 * kMiB);

  void* managed = allocate_managed();
  std::printf("kinds: cudaMallocManaged %zu bytes\n", 4 * kMiB);
  void* pinned = allocate_pinned_host();
  std::printf("kinds: cudaMallocHost %zu bytes\n", 5 * kMiB);
  void* host_alloc = allocate_host_alloc();
  std::printf("kinds: cudaHostAlloc %zu bytes\n", 6 * kMiB);
  void* registered = register_host_buffer();
  std::printf("kinds: cudaHostRegister %zu bytes\n", 7 * kMiB);

  sample::check(cudaHostUnregister(registered), "cudaHostUnregister");
  std::free(registered);
  sample::check(cudaFreeHost(host_alloc), "cudaFreeHost");
  sample::check(cudaFreeHost(pinned), "cudaFreeHost");
  sample::check(cudaFree(managed), "cudaFree");
  sample::check(cudaFreeAsync(pooled, stream), "cudaFreeAsync");
  sample::check(cudaFreeAsync(async, stream), "cudaFreeAsync");
  sample::check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
  sample::check(cudaMemPoolDestroy(pool), "cudaMemPoolDestroy");
  sample::check(cudaStreamDestroy(stream), "cudaStreamDestroy");
  sample::check(cudaFree(pitched), "cudaFree");
  sample::check(cudaFree(device), "cudaFree");
  std::printf("kinds: all freed\n");
  return 0;
}
