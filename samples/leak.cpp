// leak: a per-step leak, the kind that grows until a long job runs out of memory.
//
// Exact allocation pattern (N steps, X leak bytes; every allocation a cudaMalloc):
//   each step k = 1..N:
//     allocate_workspace        1 allocation of 4 MiB (4194304 bytes) ...
//     cache_step_statistics     1 allocation of X bytes, never freed ...
//     ... then the workspace is freed.
//   allocations = 2N, frees = N; live at exit: N*X bytes in exactly N allocations,
//   all made in cache_step_statistics; peak = 4 MiB + N*X (in step N).
// Defaults (N=10, X=1MiB): 20 allocations, 10 frees, 10485760 bytes leaked,
//   peak 14680064 bytes.
#include <cstdint>
#include <cstdio>
#include <vector>

#include "common/sample_support.h"

namespace {

constexpr const char* kUsage =
    "usage: leak [--steps N] [--leak-bytes X]\n"
    "Each step allocates a 4 MiB workspace and frees it, and keeps X bytes of\n"
    "\"statistics\" it never frees. Defaults: N=10, X=1MiB.\n";

constexpr uint64_t kWorkspaceBytes = uint64_t{4} << 20;

__attribute__((noinline)) void* allocate_workspace() {
  void* p = nullptr;
  sample::check(cudaMalloc(&p, kWorkspaceBytes), "cudaMalloc");
  return p;
}

// The leak: a cache nobody ever trims.
__attribute__((noinline)) void* cache_step_statistics(uint64_t bytes) {
  void* p = nullptr;
  sample::check(cudaMalloc(&p, bytes), "cudaMalloc");
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  sample::CommandLine args(argc, argv, kUsage);
  const uint64_t steps = args.count("--steps", 10);
  const uint64_t leak_bytes = args.size("--leak-bytes", uint64_t{1} << 20);
  args.finish();

  std::printf("leak: %llu steps, %llu bytes leaked per step\n", static_cast<unsigned long long>(steps),
              static_cast<unsigned long long>(leak_bytes));
  std::vector<void*> statistics;
  for (uint64_t step = 1; step <= steps; ++step) {
    void* workspace = allocate_workspace();
    statistics.push_back(cache_step_statistics(leak_bytes));
    sample::check(cudaFree(workspace), "cudaFree");
  }
  std::printf("leak: %zu allocations still live, %llu bytes\n", statistics.size(),
              static_cast<unsigned long long>(steps * leak_bytes));
  return 0;
}
