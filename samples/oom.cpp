// oom: over-subscription. Allocates equal chunks until the device says no.
//
// Exact allocation pattern (chunk size K; every allocation a cudaMalloc of K):
//   grow_until_full   allocations of K until one fails with
//                     cudaErrorMemoryAllocation; n succeed, allocation n+1 fails;
//                     then all n are freed. Nothing is live at exit.
//   On simcuda with capacity C, other-process memory O and granularity g:
//     n = floor((C - O) / round_up(K, g)).
//   Defaults (K=256MiB, C=16GiB, O=0, g=2MiB): n = 64, the 65th fails.
//   VRAMSCOPE_SIM_CAPACITY=1GiB: n = 4; plus VRAMSCOPE_SIM_OTHER_PROCESS=512MiB: n = 2.
// Also checks the failure is not sticky: cudaGetLastError returns it once, then
// cudaSuccess.
#include <cstdint>
#include <cstdio>
#include <vector>

#include "common/sample_support.h"

namespace {

constexpr const char* kUsage =
    "usage: oom [--chunk SIZE]\n"
    "Allocates chunks of SIZE with cudaMalloc until the device is full, expects\n"
    "cudaErrorMemoryAllocation, frees everything. Default SIZE: 256MiB.\n";

// Returns the chunks that fit; the failing request is the next one.
__attribute__((noinline)) std::vector<void*> grow_until_full(uint64_t chunk) {
  std::vector<void*> chunks;
  for (;;) {
    void* p = nullptr;
    cudaError_t error = cudaMalloc(&p, chunk);
    if (error == cudaErrorMemoryAllocation) return chunks;
    sample::check(error, "cudaMalloc");
    chunks.push_back(p);
  }
}

}  // namespace

int main(int argc, char** argv) {
  sample::CommandLine args(argc, argv, kUsage);
  const uint64_t chunk = args.size("--chunk", uint64_t{256} << 20);
  args.finish();

  std::vector<void*> chunks = grow_until_full(chunk);
  std::printf("oom: %zu allocations of %llu bytes succeeded\n", chunks.size(),
              static_cast<unsigned long long>(chunk));
  std::printf("oom: allocation %zu of %llu bytes failed: %s\n", chunks.size() + 1,
              static_cast<unsigned long long>(chunk), cudaGetErrorName(cudaErrorMemoryAllocation));

  // Out of memory is reported once and does not poison the context.
  if (cudaGetLastError() != cudaErrorMemoryAllocation)
    sample::fail("cudaGetLastError", "not the out-of-memory error");
  sample::check(cudaGetLastError(), "cudaGetLastError");
  for (void* p : chunks) sample::check(cudaFree(p), "cudaFree");
  std::printf("oom: freed %zu allocations\n", chunks.size());
  return 0;
}
