// caching_allocator: tensors through a PyTorch-like caching allocator
// (common/caching_allocator.h), every block annotated with the NVTX memory API.
//
// --workload steps --steps N (default, N = 3): the model's tensors on the
// default stream, each step in an NVTX range "step" ending with an NVTX mark
// "optimizer step":
//   setup        4 weights of 3 MiB (large pool) and 4 biases of 8 KiB (small pool).
//   each step    an input of 512 KiB; 4 activations of 3 MiB; backward, for
//                each layer from the last: a 256 KiB temporary, allocated and
//                returned, then that layer's activation returned; the input returned.
//   the end      release_all(): the heaps are reset (the parameters end there),
//                the segments freed, the heaps unregistered.
// Blocks: 8 + 9N allocations and as many ends (the 8 parameters' at the heap
//   resets); 12615680 + 14155776 N bytes; peak 25985024 (parameters, input,
//   4 activations and one temporary), the same in every step.
// Segments (cudaMalloc): 3, all made in step 1 and reused after: the weights
//   take 12 MiB of a 20 MiB segment, activations 1 and 2 the rest but 2 MiB,
//   activations 3 and 4 a second 20 MiB segment; the small tensors share one
//   2 MiB segment. 44040192 bytes, all live from step 1 to the end.
// At N = 3: 35 blocks, 55083008 bytes; 3 heaps and 3 segments of 44040192 bytes.
//
// --workload fragment: the cache holds enough free bytes for a request, but
// in pieces. Ten blocks of 4 MiB fill two 20 MiB segments; blocks 0, 2, 4, 6
// and 8 are returned: 20 MiB cached free, in five separate 4 MiB holes. An
// 8 MiB request then fits no hole and needs a new 20 MiB segment: with 40 MiB
// of GPU memory (`--simulate=40MiB` on simcuda) that cudaMalloc fails with
// out of memory (no segment is wholly free to give back first). The sample
// reports it and exits 0; release_all() then ends the 5 live blocks.
#include "common/caching_allocator.h"

#include <nvtx3/nvToolsExt.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "common/sample_support.h"

namespace {

constexpr const char* kUsage =
    "usage: caching_allocator [--workload steps|fragment] [--steps N]\n"
    "Tensors through a caching allocator annotated with the NVTX memory API.\n"
    "steps: N training-like steps (default 3). fragment: drives the cache into\n"
    "fragmentation until a request needs a new segment (run it with 40 MiB of GPU\n"
    "memory to see that fail).\n";

constexpr uint64_t KiB = 1024;
constexpr uint64_t MiB = 1024 * KiB;
constexpr int kLayers = 4;

using sample::CachingAllocator;

void* tensor(CachingAllocator& allocator, uint64_t bytes) {
  cudaError_t error = cudaSuccess;
  void* p = allocator.allocate(bytes, nullptr, &error);
  if (!p) sample::fail("cudaMalloc", cudaGetErrorName(error));
  return p;
}

__attribute__((noinline)) std::vector<void*> allocate_parameters(CachingAllocator& allocator) {
  std::vector<void*> params;
  for (int l = 0; l < kLayers; ++l) {
    params.push_back(tensor(allocator, 3 * MiB));
    params.push_back(tensor(allocator, 8 * KiB));
  }
  return params;
}

__attribute__((noinline)) void train_step(CachingAllocator& allocator) {
  void* input = tensor(allocator, 512 * KiB);
  std::vector<void*> activations;
  for (int l = 0; l < kLayers; ++l) activations.push_back(tensor(allocator, 3 * MiB));
  for (int l = kLayers; l-- > 0;) {
    allocator.release(tensor(allocator, 256 * KiB));
    allocator.release(activations[l]);
  }
  allocator.release(input);
}

void print_stats(const char* when, const CachingAllocator::Stats& s) {
  std::printf("caching_allocator: %s: %llu segments, %llu bytes reserved, %llu allocated, %llu cached free\n",
              when, static_cast<unsigned long long>(s.segments),
              static_cast<unsigned long long>(s.reserved_bytes),
              static_cast<unsigned long long>(s.allocated_bytes),
              static_cast<unsigned long long>(s.cached_free_bytes));
}

int run_steps(uint64_t steps) {
  CachingAllocator allocator;
  std::vector<void*> params = allocate_parameters(allocator);
  for (uint64_t step = 1; step <= steps; ++step) {
    nvtxRangePushA("step");
    train_step(allocator);
    nvtxMarkA("optimizer step");
    nvtxRangePop();
    std::printf("caching_allocator: step %llu done\n", static_cast<unsigned long long>(step));
  }
  print_stats("after the steps", allocator.stats());
  allocator.release_all();  // the parameters end with their heaps
  std::printf("caching_allocator: done\n");
  return 0;
}

__attribute__((noinline)) void* request_after_fragmentation(CachingAllocator& allocator, uint64_t bytes,
                                                            cudaError_t* error) {
  return allocator.allocate(bytes, nullptr, error);
}

int run_fragment() {
  CachingAllocator allocator;
  std::vector<void*> blocks;
  for (int i = 0; i < 10; ++i) blocks.push_back(tensor(allocator, 4 * MiB));
  for (int i = 0; i < 10; i += 2) allocator.release(blocks[i]);
  CachingAllocator::Stats s = allocator.stats();
  print_stats("fragmented", s);
  const uint64_t request = 8 * MiB;
  std::printf("caching_allocator: request %llu bytes: largest cached free block %llu, new segment %llu\n",
              static_cast<unsigned long long>(request), static_cast<unsigned long long>(s.largest_free_block),
              static_cast<unsigned long long>(CachingAllocator::segment_size_for(request)));
  cudaError_t error = cudaSuccess;
  void* p = request_after_fragmentation(allocator, request, &error);
  if (p) {
    std::printf("caching_allocator: the request got a new segment\n");
  } else {
    std::printf("caching_allocator: out of memory: %s\n", cudaGetErrorName(error));
  }
  allocator.release_all();
  std::printf("caching_allocator: done\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  sample::CommandLine args(argc, argv, kUsage);
  std::string workload = args.choice("--workload", "steps", {"steps", "fragment"});
  uint64_t steps = args.count("--steps", 3);
  args.finish();
  std::printf("caching_allocator: workload %s\n", workload.c_str());
  return workload == "steps" ? run_steps(steps) : run_fragment();
}
