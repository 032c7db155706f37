// alloc_loop: a tight cudaMalloc/cudaFree loop, for measuring a profiler's cost per event.
//
// Exact allocation pattern: N times, in allocate_and_free, one cudaMalloc of S
// bytes then its cudaFree. allocations = frees = N; at most one live; nothing
// live at exit. Defaults: N = 1000000, S = 1 MiB (1048576).
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <thread>

#include "common/sample_support.h"

namespace {

constexpr const char* kUsage =
    "usage: alloc_loop [--iterations N] [--size S] [--wait-ms T]\n"
    "N pairs of cudaMalloc(S) and cudaFree. Defaults: N=1000000, S=1MiB.\n"
    "--wait-ms T: sleep T ms first (time for a live viewer to attach).\n";

__attribute__((noinline)) void allocate_and_free(uint64_t bytes) {
  void* p = nullptr;
  sample::check(cudaMalloc(&p, bytes), "cudaMalloc");
  sample::check(cudaFree(p), "cudaFree");
}

}  // namespace

int main(int argc, char** argv) {
  sample::CommandLine args(argc, argv, kUsage);
  const uint64_t iterations = args.count("--iterations", 1000000);
  const uint64_t bytes = args.size("--size", uint64_t{1} << 20);
  const uint64_t wait_ms = args.count("--wait-ms", 0, 0);
  args.finish();

  if (wait_ms) std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
  for (uint64_t i = 0; i < iterations; ++i) allocate_and_free(bytes);
  std::printf("alloc_loop: %llu iterations\n", static_cast<unsigned long long>(iterations));
  return 0;
}
