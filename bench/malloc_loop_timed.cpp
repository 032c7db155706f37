// The same loop as alloc_loop_timed with malloc/free, for heaptrack: the
// reference for what a native-stack memory tracer costs per event.
#include <time.h>

#include <cstdio>
#include <cstdlib>

namespace {

__attribute__((noinline)) void* allocate(size_t size) {
  void* p = std::malloc(size);
  asm volatile("" : : "r"(p) : "memory");  // keep the pair from being optimized away
  return p;
}

__attribute__((noinline)) void release(void* p) { std::free(p); }

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
  size_t size = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 64;
  loop(1000, size);
  double start = seconds();
  loop(iterations, size);
  double elapsed = seconds() - start;
  std::printf("ns_per_iteration %.2f\n", elapsed * 1e9 / static_cast<double>(iterations));
  return 0;
}
