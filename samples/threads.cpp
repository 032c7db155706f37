// threads: many threads allocating at once, each with its own size.
//
// Exact allocation pattern (T threads, I iterations; all start together at a barrier):
//   thread t (0-based), in allocate_thread_buffer, I times: 1 allocation of
//   (t+1) MiB = (t+1)*1048576 bytes, then it is freed.
//   With --async each thread uses its own stream: cudaMallocAsync/cudaFreeAsync
//   instead of cudaMalloc/cudaFree (same sizes and counts).
//   allocations = frees = T*I; bytes allocated in all = I * T(T+1)/2 MiB;
//   at most T allocations live at once, at most T(T+1)/2 MiB; nothing live at exit.
// Defaults (T=8, I=100): 800 allocations, 3774873600 bytes (3600 MiB) in all,
//   peak at most 37748736 bytes (36 MiB).
#include <barrier>
#include <cstdint>
#include <cstdio>
#include <thread>
#include <vector>

#include "common/sample_support.h"

namespace {

constexpr const char* kUsage =
    "usage: threads [--threads T] [--iterations I] [--async]\n"
    "Thread t allocates and frees (t+1) MiB, I times; all threads start together.\n"
    "--async: on a stream per thread, with cudaMallocAsync/cudaFreeAsync.\n"
    "Defaults: T=8, I=100.\n";

constexpr uint64_t kMiB = uint64_t{1} << 20;

__attribute__((noinline)) void* allocate_thread_buffer(uint64_t bytes, cudaStream_t stream) {
  void* p = nullptr;
  if (stream != nullptr) {
    sample::check(cudaMallocAsync(&p, bytes, stream), "cudaMallocAsync");
  } else {
    sample::check(cudaMalloc(&p, bytes), "cudaMalloc");
  }
  return p;
}

void run_thread(uint64_t index, uint64_t iterations, bool async, std::barrier<>& start) {
  cudaStream_t stream = nullptr;
  if (async)
    sample::check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
  start.arrive_and_wait();
  const uint64_t bytes = (index + 1) * kMiB;
  for (uint64_t i = 0; i < iterations; ++i) {
    void* p = allocate_thread_buffer(bytes, stream);
    if (async) {
      sample::check(cudaFreeAsync(p, stream), "cudaFreeAsync");
    } else {
      sample::check(cudaFree(p), "cudaFree");
    }
  }
  if (async) {
    sample::check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
    sample::check(cudaStreamDestroy(stream), "cudaStreamDestroy");
  }
}

}  // namespace

int main(int argc, char** argv) {
  sample::CommandLine args(argc, argv, kUsage);
  const uint64_t threads = args.count("--threads", 8);
  const uint64_t iterations = args.count("--iterations", 100);
  const bool async = args.flag("--async");
  args.finish();

  std::printf("threads: %llu threads, %llu iterations each%s\n", static_cast<unsigned long long>(threads),
              static_cast<unsigned long long>(iterations), async ? ", stream-ordered" : "");
  std::barrier start(static_cast<std::ptrdiff_t>(threads));
  std::vector<std::thread> workers;
  for (uint64_t t = 0; t < threads; ++t)
    workers.emplace_back(run_thread, t, iterations, async, std::ref(start));
  for (auto& w : workers) w.join();

  uint64_t total = 0;
  for (uint64_t t = 0; t < threads; ++t) {
    const uint64_t bytes = iterations * (t + 1) * kMiB;
    total += bytes;
    std::printf("threads: thread %llu: %llu allocations of %llu bytes, %llu bytes in all\n",
                static_cast<unsigned long long>(t), static_cast<unsigned long long>(iterations),
                static_cast<unsigned long long>((t + 1) * kMiB), static_cast<unsigned long long>(bytes));
  }
  std::printf("threads: %llu allocations, %llu bytes in all\n",
              static_cast<unsigned long long>(threads * iterations), static_cast<unsigned long long>(total));
  return 0;
}
