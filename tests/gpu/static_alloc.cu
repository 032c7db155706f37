// For the GPU suite's CUPTI check: built by nvcc with its default, the static
// CUDA runtime, whose cudaMalloc no preloaded library can interpose. Three
// allocations of 8 MiB, two freed: 8 MiB live at exit.
#include <cuda_runtime.h>

#include <cstdio>

int main() {
  void* blocks[3] = {};
  for (void*& block : blocks) {
    if (cudaMalloc(&block, 8 << 20) != cudaSuccess) {
      std::puts("static_alloc: cudaMalloc failed");
      return 1;
    }
  }
  cudaFree(blocks[0]);
  cudaFree(blocks[1]);
  std::puts("static_alloc: 3 allocations of 8 MiB, 2 freed");
  return 0;
}
