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
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "common/sample_support.h"

namespace {

constexpr const char* kUsage =
    "usage: train_mlp [--optimizer adam|sgd] [--momentum] [--layers L] [--width W] [--batch B] [--steps S]\n"
    "Trains nothing, but allocates and frees GPU memory exactly like an L-layer MLP\n"
    "of width W on batches of B (float32). Defaults: adam, L=4, W=1024, B=64, S=3.\n";

struct Config {
  std::string optimizer;
  bool momentum;
  uint64_t layers, width, batch, steps;
};

struct Tensor {
  void* data = nullptr;
  uint64_t bytes = 0;
};

uint64_t total_bytes(const std::vector<Tensor>& tensors) {
  uint64_t sum = 0;
  for (const auto& t : tensors) sum += t.bytes;
  return sum;
}

void release(std::vector<Tensor>& tensors) {
  for (auto& t : tensors) sample::check(cudaFree(t.data), "cudaFree");
  tensors.clear();
}

// Weight then bias for each layer, zeroed.
__attribute__((noinline)) std::vector<Tensor> allocate_parameters(const Config& c) {
  std::vector<Tensor> params;
  for (uint64_t l = 0; l < c.layers; ++l) {
    for (uint64_t bytes : {4 * c.width * c.width, 4 * c.width}) {
      Tensor t{nullptr, bytes};
      sample::check(cudaMalloc(&t.data, bytes), "cudaMalloc");
      sample::check(cudaMemset(t.data, 0, bytes), "cudaMemset");
      params.push_back(t);
    }
  }
  return params;
}

__attribute__((noinline)) std::vector<Tensor> allocate_gradients(const std::vector<Tensor>& params) {
  std::vector<Tensor> grads;
  for (const auto& p : params) {
    Tensor t{nullptr, p.bytes};
    sample::check(cudaMalloc(&t.data, t.bytes), "cudaMalloc");
    grads.push_back(t);
  }
  return grads;
}

__attribute__((noinline)) std::vector<Tensor> allocate_optimizer_state(const std::vector<Tensor>& params,
                                                                       int per_parameter) {
  std::vector<Tensor> state;
  for (const auto& p : params) {
    for (int i = 0; i < per_parameter; ++i) {
      Tensor t{nullptr, p.bytes};
      sample::check(cudaMalloc(&t.data, t.bytes), "cudaMalloc");
      sample::check(cudaMemset(t.data, 0, t.bytes), "cudaMemset");
      state.push_back(t);
    }
  }
  return state;
}

__attribute__((noinline)) Tensor load_batch(const Config& c, const std::vector<float>& host_batch) {
  Tensor input{nullptr, 4 * c.batch * c.width};
  sample::check(cudaMalloc(&input.data, input.bytes), "cudaMalloc");
  sample::check(cudaMemcpy(input.data, host_batch.data(), input.bytes, cudaMemcpyHostToDevice), "cudaMemcpy");
  return input;
}

__attribute__((noinline)) Tensor forward_layer(const Config& c) {
  Tensor activation{nullptr, 4 * c.batch * c.width};
  sample::check(cudaMalloc(&activation.data, activation.bytes), "cudaMalloc");
  return activation;
}

// The gradient of the activation lives only while this layer's backward runs.
__attribute__((noinline)) void backward_layer(const Config& c, Tensor& activation) {
  void* grad_activation = nullptr;
  sample::check(cudaMalloc(&grad_activation, 4 * c.batch * c.width), "cudaMalloc");
  sample::check(cudaFree(grad_activation), "cudaFree");
  sample::check(cudaFree(activation.data), "cudaFree");
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
  args.finish();
  if (c.momentum && c.optimizer != "sgd") {
    std::fprintf(stderr, "train_mlp: --momentum goes with --optimizer sgd\n");
    return 2;
  }

  std::printf("train_mlp: optimizer %s%s, layers %llu, width %llu, batch %llu, steps %llu\n",
              c.optimizer.c_str(), c.momentum ? " with momentum" : "",
              static_cast<unsigned long long>(c.layers), static_cast<unsigned long long>(c.width),
              static_cast<unsigned long long>(c.batch), static_cast<unsigned long long>(c.steps));

  std::vector<Tensor> params = allocate_parameters(c);
  std::vector<Tensor> grads = allocate_gradients(params);
  const uint64_t param_bytes = total_bytes(params);
  std::printf("train_mlp: parameters %zu tensors, %llu bytes\n", params.size(),
              static_cast<unsigned long long>(param_bytes));

  std::vector<float> host_batch(c.batch * c.width, 1.0f);
  std::vector<Tensor> state;
  for (uint64_t step = 1; step <= c.steps; ++step) {
    Tensor input = load_batch(c, host_batch);
    std::vector<Tensor> activations;
    for (uint64_t l = 0; l < c.layers; ++l) activations.push_back(forward_layer(c));
    for (uint64_t l = c.layers; l-- > 0;) backward_layer(c, activations[l]);
    sample::check(cudaFree(input.data), "cudaFree");
    if (step == 1) {
      state = allocate_optimizer_state(params, state_per_parameter(c));
      std::printf("train_mlp: optimizer state %zu tensors, %llu bytes\n", state.size(),
                  static_cast<unsigned long long>(total_bytes(state)));
    }
    sample::check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
    std::printf("train_mlp: step %llu done\n", static_cast<unsigned long long>(step));
  }

  const uint64_t s = static_cast<uint64_t>(state_per_parameter(c));
  const uint64_t act = 4 * c.batch * c.width;
  const uint64_t during_step_one = 2 * param_bytes + (c.layers + 2) * act;
  const uint64_t later = (2 + s) * param_bytes + (c.layers + 2) * act;
  const uint64_t after_step_one = (2 + s) * param_bytes;
  uint64_t peak = c.steps >= 2 ? later : std::max(during_step_one, after_step_one);
  std::printf("train_mlp: peak %llu bytes\n", static_cast<unsigned long long>(peak));

  release(state);
  release(grads);
  release(params);
  std::printf("train_mlp: done\n");
  return 0;
}
