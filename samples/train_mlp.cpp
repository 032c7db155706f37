// train_mlp: the memory of a small MLP training loop (float32), Adam or SGD.
//
// Exact allocation pattern (every allocation a cudaMalloc of exactly these
// bytes; L layers, width W, batch B, S steps; T = 4*W*W, b = 4*W, A = 4*B*W):
//   allocate_parameters       2L allocations: per layer a weight (T) and a bias (b);
//                             P = L*(T + b) bytes in all; each cudaMemset to 0.
//   allocate_gradients        2L allocations of the same shapes, P bytes, before step 1.
//   each step k = 1..S:
//     load_batch              1 allocation of A (the input), filled by cudaMemcpy.
//     forward_layer           L allocations of A, one activation per layer.
//     backward_layer          for l = L-1 .. 0: 1 allocation of A (gradient of the
//                             activation), then it is freed, then activation l is freed.
//     the input is freed.
//     allocate_optimizer_state  in step 1 only, after backward (as PyTorch does):
//                             adam: 2 per parameter tensor (exp_avg, exp_avg_sq) = 4L
//                             allocations, 2P bytes; sgd: none; sgd --momentum: 1 per
//                             parameter tensor = 2L allocations, P bytes. Each cudaMemset to 0.
//   the end: state, gradients, parameters freed. Nothing is live at exit.
// With s = 2 (adam), 1 (sgd --momentum), 0 (sgd):
//   allocations = frees = 4L + S*(2L + 1) + 2sL
//   peak live bytes (S >= 2) = (2 + s)*P + (L + 2)*A, reached at the first
//     backward_layer allocation of step 2 (and of every later step);
//     for S = 1 it is max(2P + (L + 2)*A, (2 + s)*P).
// Defaults (adam, L=4, W=1024, B=64, S=3): P = 16793600, A = 262144,
//   59 allocations, peak 68747264 bytes (65.56 MiB).
// On simcuda each allocation also costs the device its size rounded up to the
// granularity g (2 MiB by default): peak charged = (2+s)*L*(ru(T)+ru(b)) + (L+2)*ru(A)
//   = 113246208 bytes (108 MiB) at the defaults.
//
// Each step is an NVTX range "step". --allocator caching puts the tensors in
// the caching allocator of common/caching_allocator.h instead (the same
// requests, ending at the same points; its segments are freed at the end), so
// its NVTX tensor blocks follow the pattern above exactly: peak 68747264 bytes
// of blocks at the defaults. Its segments at the defaults: the 16 tensors of
// 4 MiB (weights, their gradients, Adam's 8 states) in 20 MiB segments, 5 to a
// segment: 4 segments; every small tensor (biases, gradients and states of
// 4 KiB, at most 6 activations of 256 KiB live) in one 2 MiB segment:
// 5 segments, 85983232 bytes, all made by step 1 and freed at the end.
#include <nvtx3/nvToolsExt.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "common/caching_allocator.h"
#include "common/sample_support.h"

namespace {

constexpr const char* kUsage =
    "usage: train_mlp [--optimizer adam|sgd] [--momentum] [--layers L] [--width W] [--batch B] [--steps S]\n"
    "                 [--allocator direct|caching] [--pause-ms T]\n"
    "Trains nothing, but allocates and frees GPU memory exactly like an L-layer MLP\n"
    "of width W on batches of B (float32). Defaults: adam, L=4, W=1024, B=64, S=3.\n"
    "--allocator caching: tensors come from a caching allocator annotated with NVTX.\n"
    "--pause-ms T: sleep T ms after each step (a job that runs a while, for --live).\n";

struct Config {
  std::string optimizer;
  bool momentum;
  uint64_t layers, width, batch, steps;
  sample::CachingAllocator* allocator;  // nullptr: every tensor is a cudaMalloc of its own
};

void* cached_alloc(const Config& c, uint64_t bytes) {
  cudaError_t error = cudaSuccess;
  void* p = c.allocator->allocate(bytes, nullptr, &error);
  if (!p) sample::fail("cudaMalloc", cudaGetErrorName(error));
  return p;
}

// A macro, not a function: a direct tensor's cudaMalloc then stands on the line
// of the function that wants the tensor, which is the line its report shows.
#define DEVICE_ALLOC(c, bytes)                                 \
  ((c).allocator ? cached_alloc((c), (bytes)) : ({              \
    void* p_ = nullptr;                                        \
    sample::check(cudaMalloc(&p_, (bytes)), "cudaMalloc");     \
    p_;                                                        \
  }))

__attribute__((always_inline)) inline void device_free(const Config& c, void* p) {
  if (c.allocator) {
    c.allocator->release(p);
  } else {
    sample::check(cudaFree(p), "cudaFree");
  }
}

struct Tensor {
  void* data = nullptr;
  uint64_t bytes = 0;
};

uint64_t total_bytes(const std::vector<Tensor>& tensors) {
  uint64_t sum = 0;
  for (const auto& t : tensors) sum += t.bytes;
  return sum;
}

void release(const Config& c, std::vector<Tensor>& tensors) {
  for (auto& t : tensors) device_free(c, t.data);
  tensors.clear();
}

// Weight then bias for each layer, zeroed.
__attribute__((noinline)) std::vector<Tensor> allocate_parameters(const Config& c) {
  std::vector<Tensor> params;
  for (uint64_t l = 0; l < c.layers; ++l) {
    for (uint64_t bytes : {4 * c.width * c.width, 4 * c.width}) {
      Tensor t{DEVICE_ALLOC(c, bytes), bytes};
      sample::check(cudaMemset(t.data, 0, bytes), "cudaMemset");
      params.push_back(t);
    }
  }
  return params;
}

__attribute__((noinline)) std::vector<Tensor> allocate_gradients(const Config& c, const std::vector<Tensor>& params) {
  std::vector<Tensor> grads;
  for (const auto& p : params) {
    Tensor t{DEVICE_ALLOC(c, p.bytes), p.bytes};
    grads.push_back(t);
  }
  return grads;
}

__attribute__((noinline)) std::vector<Tensor> allocate_optimizer_state(const Config& c,
                                                                       const std::vector<Tensor>& params,
                                                                       int per_parameter) {
  std::vector<Tensor> state;
  for (const auto& p : params) {
    for (int i = 0; i < per_parameter; ++i) {
      Tensor t{DEVICE_ALLOC(c, p.bytes), p.bytes};
      sample::check(cudaMemset(t.data, 0, t.bytes), "cudaMemset");
      state.push_back(t);
    }
  }
  return state;
}

__attribute__((noinline)) Tensor load_batch(const Config& c, const std::vector<float>& host_batch) {
  Tensor input{DEVICE_ALLOC(c, 4 * c.batch * c.width), 4 * c.batch * c.width};
  sample::check(cudaMemcpy(input.data, host_batch.data(), input.bytes, cudaMemcpyHostToDevice), "cudaMemcpy");
  return input;
}

__attribute__((noinline)) Tensor forward_layer(const Config& c) {
  Tensor activation{DEVICE_ALLOC(c, 4 * c.batch * c.width), 4 * c.batch * c.width};
  return activation;
}

// The gradient of the activation lives only while this layer's backward runs.
__attribute__((noinline)) void backward_layer(const Config& c, Tensor& activation) {
  void* grad_activation = DEVICE_ALLOC(c, 4 * c.batch * c.width);
  device_free(c, grad_activation);
  device_free(c, activation.data);
  activation = Tensor{};
}

int state_per_parameter(const Config& c) {
  if (c.optimizer == "adam") return 2;
  return c.momentum ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  sample::CommandLine args(argc, argv, kUsage);
  Config c;
  c.optimizer = args.choice("--optimizer", "adam", {"adam", "sgd"});
  c.momentum = args.flag("--momentum");
  c.layers = args.count("--layers", 4);
  c.width = args.count("--width", 1024);
  c.batch = args.count("--batch", 64);
  c.steps = args.count("--steps", 3);
  const uint64_t pause_ms = args.count("--pause-ms", 0, 0);
  bool caching = args.choice("--allocator", "direct", {"direct", "caching"}) == "caching";
  args.finish();
  if (c.momentum && c.optimizer != "sgd") {
    std::fprintf(stderr, "train_mlp: --momentum goes with --optimizer sgd\n");
    return 2;
  }

  std::printf("train_mlp: optimizer %s%s, layers %llu, width %llu, batch %llu, steps %llu\n",
              c.optimizer.c_str(), c.momentum ? " with momentum" : "",
              static_cast<unsigned long long>(c.layers), static_cast<unsigned long long>(c.width),
              static_cast<unsigned long long>(c.batch), static_cast<unsigned long long>(c.steps));

  sample::CachingAllocator cache;
  c.allocator = caching ? &cache : nullptr;
  std::vector<Tensor> params = allocate_parameters(c);
  std::vector<Tensor> grads = allocate_gradients(c, params);
  const uint64_t param_bytes = total_bytes(params);
  std::printf("train_mlp: parameters %zu tensors, %llu bytes\n", params.size(),
              static_cast<unsigned long long>(param_bytes));

  std::vector<float> host_batch(c.batch * c.width, 1.0f);
  std::vector<Tensor> state;
  for (uint64_t step = 1; step <= c.steps; ++step) {
    nvtxRangePushA("step");
    Tensor input = load_batch(c, host_batch);
    std::vector<Tensor> activations;
    for (uint64_t l = 0; l < c.layers; ++l) activations.push_back(forward_layer(c));
    for (uint64_t l = c.layers; l-- > 0;) backward_layer(c, activations[l]);
    device_free(c, input.data);
    if (step == 1) {
      state = allocate_optimizer_state(c, params, state_per_parameter(c));
      std::printf("train_mlp: optimizer state %zu tensors, %llu bytes\n", state.size(),
                  static_cast<unsigned long long>(total_bytes(state)));
    }
    sample::check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
    nvtxRangePop();
    std::printf("train_mlp: step %llu done\n", static_cast<unsigned long long>(step));
    std::fflush(stdout);
    if (pause_ms) std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
  }

  const uint64_t s = static_cast<uint64_t>(state_per_parameter(c));
  const uint64_t act = 4 * c.batch * c.width;
  const uint64_t during_step_one = 2 * param_bytes + (c.layers + 2) * act;
  const uint64_t later = (2 + s) * param_bytes + (c.layers + 2) * act;
  const uint64_t after_step_one = (2 + s) * param_bytes;
  uint64_t peak = c.steps >= 2 ? later : std::max(during_step_one, after_step_one);
  std::printf("train_mlp: peak %llu bytes\n", static_cast<unsigned long long>(peak));

  release(c, state);
  release(c, grads);
  release(c, params);
  cache.release_all();
  std::printf("train_mlp: done\n");
  return 0;
}
