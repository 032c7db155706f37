// Times a cudaMalloc/cudaFree loop from inside the process, so the figure
// holds only the loop (not start-up): run plain and under the injector.
// Prints "ns_per_iteration N" on stdout.
#include <cuda_runtime_api.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>

namespace {

__attribute__((noinline)) void* allocate(size_t size) {
  void* p = nullptr;
  if (cudaMalloc(&p, size) != cudaSuccess) {
    std::fprintf(stderr, "alloc_loop_timed: cudaMalloc failed\n");
    std::exit(1);
  }
  return p;
}

__attribute__((noinline)) void release(void* p) { cudaFree(p); }

__attribute__((noinline)) void loop(long iterations, size_t size) {
  for (long i = 0; i < iterations; ++i) release(allocate(size));
}

double seconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

}  // namespace

int main(int argc, char** argv) {
  long iterations = argc > 1 ? std::atol(argv[1]) : 1000000;
  size_t size = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : (1u << 20);
  loop(1000, size);  // warm up: driver init, first chunk, stack nodes
  double start = seconds();
  loop(iterations, size);
  double elapsed = seconds() - start;
  std::printf("ns_per_iteration %.2f\n", elapsed * 1e9 / static_cast<double>(iterations));
  return 0;
}
