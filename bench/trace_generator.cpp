// Writes a synthetic training-job trace of exactly N events, with figures
// known in advance: the analysis benchmark's input (docs/performance.md) and
// the known-truth test of the analyzer (tests/integration/test_generator.cpp).
//
// The job: long-lived parameters, then iterations inside NVTX ranges "step".
// The first iteration also makes the gradients and the optimizer state, which
// stay live to the end. Every iteration brings an input batch, activations
// made in forward order and freed backward in stack order, and temporaries
// freed at once. Long-lived memory comes from a bump allocator; transient
// memory from a stack arena whose addresses repeat every iteration, as a
// caching allocator gives them.
//
// usage: vramscope_trace_generator --events N --output PATH [--live N] [--seed S]

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "bench/event_count.h"
#include "bench/tool_main.h"
#include "formats/human_size.h"
#include "formats/trace_file_writer.h"

using namespace vramscope::trace;
using vramscope::bench::UsageError;

namespace {

constexpr const char* kUsage =
    "usage: vramscope_trace_generator --events N --output PATH [--live N] [--seed S]\n"
    "\n"
    "Writes a synthetic training-job trace of exactly N events (allocations,\n"
    "frees, NVTX range pushes and pops) for the analysis benchmark and tests.\n"
    "One device; first the long-lived allocations (parameters, then gradients\n"
    "and optimizer state in the first iteration), then iterations in NVTX\n"
    "ranges named 'step'. The same seed gives the same file, byte for byte.\n"
    "\n"
    "At the end it prints one line to standard error with the figures the\n"
    "analyzer must find: events, allocations, iterations, file size, peak live\n"
    "device bytes and live-at-exit bytes.\n"
    "\n"
    "options:\n"
    "  --events N     events to write (required); suffixes k, M, G (10M = 10,000,000)\n"
    "  --live N       long-lived allocations live at once (default 1M, at least 20)\n"
    "  --output PATH  the trace file to write (required)\n"
    "  --seed S       seed of the sizes and times (default 1)\n"
    "  --help         show this help\n";

struct Options {
  uint64_t events = 0;
  uint64_t live = 1'000'000;
  std::string output;
  uint64_t seed = 1;
};

// Returns nullopt for --help.
std::optional<Options> parse_options(int argc, char** argv) {
  Options options;
  bool have_events = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") return std::nullopt;
    std::string value;
    if (auto eq = arg.find('='); arg.starts_with("--") && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else if (arg == "--events" || arg == "--live" || arg == "--output" || arg == "--seed") {
      if (i + 1 >= argc) throw UsageError{arg + " needs a value"};
      value = argv[++i];
    } else {
      throw UsageError{"unknown argument '" + arg + "'"};
    }
    auto count = [&]() {
      std::optional<uint64_t> n = vramscope::bench::parse_count(value);
      if (!n)
        throw UsageError{arg + " wants a whole number such as 200000, 200k or 10M, not '" + value + "'"};
      return *n;
    };
    if (arg == "--events") {
      options.events = count();
      have_events = true;
    } else if (arg == "--live") {
      options.live = count();
    } else if (arg == "--seed") {
      options.seed = count();
    } else if (arg == "--output") {
      if (value.empty()) throw UsageError{"--output needs a path"};
      options.output = value;
    } else {
      throw UsageError{"unknown option '" + arg + "'"};
    }
  }
  if (!have_events) throw UsageError{"--events is required"};
  if (options.output.empty()) throw UsageError{"--output is required"};
  if (options.live < 20) throw UsageError{"--live must be at least 20"};
  return options;
}

// splitmix64: deterministic, and one multiply-shift per number.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

 private:
  uint64_t state_;
};

constexpr uint64_t KiB = 1024;
constexpr uint64_t MiB = 1024 * KiB;
constexpr uint64_t GiB = 1024 * MiB;

// The call sites of the job, each a Python stack listed outermost first.
enum Site : uint8_t {
  kInitParams,
  kRegisterBuffer,
  kAccumulateGrad,
  kOptimizerInitState,
  kOptimizerStep,
  kBatchInputs,
  kBatchLabels,
  kForwardLinear,
  kForwardActivation,
  kWorkspaceGemm,
  kForwardLoss,
  kBackwardLinearGrad,
  kBackwardRelease,
  kStepCleanup,
  kTeardown,
  kSiteCount
};

struct FrameSpec {
  const char* function;
  const char* file;
  uint32_t line;
};

const std::vector<std::vector<FrameSpec>>& site_stacks() {
  static const FrameSpec main{"main", "train.py", 112};
  static const FrameSpec build{"build_model", "train.py", 41};
  static const FrameSpec step{"train_step", "train.py", 63};
  static const FrameSpec backward{"loss.backward", "train.py", 67};
  static const FrameSpec optimizer{"optimizer.step", "train.py", 71};
  static const FrameSpec forward{"model.forward", "model.py", 120};
  static const FrameSpec linear{"forward.linear", "layers.py", 33};
  static const std::vector<std::vector<FrameSpec>> stacks = {
      {main, build, {"model.__init__", "model.py", 23}, {"model.init_params", "model.py", 57}},
      {main, build, {"model.__init__", "model.py", 29}, {"model.register_buffer", "model.py", 88}},
      {main, step, backward, {"backward.accumulate_grad", "autograd.py", 210}},
      {main, step, optimizer, {"optimizer.init_state", "optim.py", 95}},
      {main, step, optimizer, {"optimizer.step", "optim.py", 140}},
      {main, step, {"loader.next_batch", "data.py", 48}},
      {main, step, {"loader.next_batch", "data.py", 49}},
      {main, step, forward, linear},
      {main, step, forward, {"forward.activation", "layers.py", 51}},
      {main, step, forward, linear, {"workspace.gemm", "blas.py", 12}},
      {main, step, {"model.loss", "model.py", 150}},
      {main, step, backward, {"backward.linear_grad", "autograd.py", 180}},
      {main, step, backward, {"backward.release_saved", "autograd.py", 240}},
      {main, step, {"step.cleanup", "train.py", 75}},
      {main, {"teardown", "train.py", 130}, {"optimizer.release", "optim.py", 60}},
  };
  return stacks;
}

// The file side: definitions, events, chunk rolls and the running figures.
class JobTrace {
 public:
  JobTrace(const std::string& path, const Header& header, uint64_t seed)
      : writer_(path, header), random_(seed) {
    now_ = header.start_ns;
    define_names();
  }

  void alloc(Site site, uint64_t address, uint64_t size) {
    AllocFields f{.ticks = tick(),
                  .api = Api::cuMemAlloc,
                  .via = Api::cudaMalloc,
                  .address = address,
                  .size = size,
                  .stack = stacks_[site]};
    put([&](ChunkEncoder& e) { return e.alloc(f); });
    ++allocations_;
    ++live_count_;
    live_bytes_ += size;
    if (live_bytes_ > peak_bytes_) {
      peak_bytes_ = live_bytes_;
      peak_count_ = live_count_;
    }
  }

  void free(Site site, uint64_t address, uint64_t size) {
    AllocFields f{.ticks = tick(),
                  .api = Api::cuMemFree,
                  .via = Api::cudaFree,
                  .address = address,
                  .stack = stacks_[site]};
    put([&](ChunkEncoder& e) { return e.free(f); });
    ++frees_;
    --live_count_;
    live_bytes_ -= size;
  }

  void range(bool push) {
    uint64_t t = tick();
    auto type = push ? layout::kRangePush : layout::kRangePop;
    put([&](ChunkEncoder& e) { return e.marker(type, t, step_name_); });
    ++ranges_;
  }

  void end() {
    uint64_t t = tick();
    put([&](ChunkEncoder& e) { return e.end(t, EndReason::Exit, 0, chunks_); });
    writer_.finish();
  }

  uint64_t events() const { return allocations_ + frees_ + ranges_; }
  uint64_t allocations() const { return allocations_; }
  uint64_t frees() const { return frees_; }
  uint64_t live_bytes() const { return live_bytes_; }
  uint64_t live_count() const { return live_count_; }
  uint64_t peak_bytes() const { return peak_bytes_; }
  uint64_t peak_count() const { return peak_count_; }
  Random& random() { return random_; }

 private:
  // A record that does not fit goes to a fresh chunk; the End record counts them.
  template <typename F>
  void put(F&& record) {
    if (!record(writer_.encoder())) {
      writer_.set_now(now_);
      writer_.roll();
      ++chunks_;
      record(writer_.encoder());
    }
  }

  // 0.2 to 1.2 µs between events: a job busy between its allocations.
  uint64_t tick() { return now_ += 200 + (random_.next() & 1023); }

  void define_names() {
    std::map<std::string, StringId> strings;
    auto string = [&](const std::string& text) {
      auto [it, added] = strings.emplace(text, StringId{static_cast<uint32_t>(strings.size() + 1)});
      StringId id = it->second;  // a named copy: clang before 16 cannot capture a structured binding
      if (added) put([&](ChunkEncoder& e) { return e.string(id, text); });
      return id;
    };
    std::map<std::tuple<std::string, std::string, uint32_t>, FrameId> frames;
    std::map<std::pair<uint32_t, uint32_t>, StackId> nodes;  // (parent, frame) -> node
    for (const std::vector<FrameSpec>& stack : site_stacks()) {
      StackId parent;
      for (const FrameSpec& spec : stack) {
        auto [frame_at, new_frame] = frames.emplace(std::tuple{spec.function, spec.file, spec.line},
                                                    FrameId{static_cast<uint32_t>(frames.size() + 1)});
        FrameId frame = frame_at->second;
        if (new_frame) {
          StringId function = string(spec.function), file = string(spec.file);
          put([&](ChunkEncoder& e) { return e.frame(frame, function, file, spec.line); });
        }
        auto [node_at, new_node] = nodes.emplace(std::pair{parent.value, frame.value},
                                                 StackId{static_cast<uint32_t>(nodes.size() + 1)});
        StackId node = node_at->second;
        if (new_node) put([&](ChunkEncoder& e) { return e.stack_frame_node(node, parent, frame); });
        parent = node;
      }
      stacks_.push_back(parent);
    }
    step_name_ = string("step");
    put([&](ChunkEncoder& e) { return e.thread(ThreadIndex{1}, 4242, "MainThread"); });
    DeviceInfo device{0, "Synthetic GPU", 80 * GiB, false};
    put([&](ChunkEncoder& e) { return e.device(device); });
  }

  SimpleTraceWriter writer_;
  Random random_;
  uint64_t now_ = 0;
  uint64_t chunks_ = 1;
  std::vector<StackId> stacks_;
  StringId step_name_;
  uint64_t allocations_ = 0, frees_ = 0, ranges_ = 0;
  uint64_t live_bytes_ = 0, live_count_ = 0, peak_bytes_ = 0, peak_count_ = 0;
};

// Event counts of the plan: exact, so the trace ends on exactly N events.
constexpr uint64_t kLayers = 64;
constexpr uint64_t kStepFixedEvents = 10;  // push, pop, 2 batch allocs and frees, loss pair, optimizer pair
constexpr uint64_t kLayerEvents = 8;       // forward: gemm pair, 2 activations; backward: 2 frees, grad pair
constexpr uint64_t kStepEvents = kStepFixedEvents + kLayerEvents * kLayers;

// Address spaces: the transient arena (under 1 GiB at its highest) below, the
// long-lived bump allocation above. The base is where CUDA's unified address
// space hands out its first device pointers.
constexpr uint64_t kTransientBase = 0x200000000;
constexpr uint64_t kLongLivedBase = kTransientBase + 64 * GiB;

// The model: parameter sizes and the per-layer shapes every step repeats.
struct Model {
  std::vector<uint32_t> param_sizes;        // all long-lived parameters and buffers
  uint64_t trained = 0;                     // the first `trained` have gradients and 2 optimizer states each
  std::vector<uint64_t> layer_first_param;  // layer l's parameters: [first[l], first[l + 1])
  std::vector<uint64_t> activation;         // per layer
  std::vector<uint64_t> workspace;          // per layer
  uint64_t inputs = 16 * MiB, labels = 64 * KiB, loss = 512, optimizer_temp = 0;
};

Model make_model(uint64_t live, Random& random) {
  Model m;
  m.trained = live / 4;
  m.param_sizes.resize(live - 3 * m.trained);
  for (uint32_t& size : m.param_sizes) {
    uint64_t r = random.next();
    uint64_t x = r >> 12;
    if (r % 1024 == 0) {
      size = static_cast<uint32_t>((1 + x % 16) * MiB);  // an embedding or a wide projection
    } else if (r % 32 == 0) {
      size = static_cast<uint32_t>((1 + x % 16) * 64 * KiB);
    } else {
      size = static_cast<uint32_t>((1 + x % 64) * 512);  // biases, norms, small weights
    }
  }
  for (uint64_t l = 0; l <= kLayers; ++l) m.layer_first_param.push_back(l * m.trained / kLayers);
  for (uint64_t l = 0; l < kLayers; ++l) {
    m.activation.push_back(512 * (2048 + random.next() % 6144));  // 1 to 4 MiB
    m.workspace.push_back((4 + random.next() % 29) * MiB);        // cuBLAS-like, 4 to 32 MiB
  }
  m.optimizer_temp = 64 * MiB;
  return m;
}

class JobWriter {
 public:
  JobWriter(JobTrace& trace, const Model& model) : trace_(trace), model_(model) {}

  void parameters() {
    for (size_t i = 0; i < model_.param_sizes.size(); ++i) {
      long_lived(i < model_.trained ? kInitParams : kRegisterBuffer, model_.param_sizes[i]);
    }
  }

  // One iteration over the first `layers` layers; `first` also makes the
  // gradients and the optimizer state. `extra_updates`: more optimizer
  // temporaries, to end the trace on an exact count.
  void step(uint64_t layers, bool first, uint64_t extra_updates = 0) {
    trace_.range(true);
    uint64_t inputs = push(kBatchInputs, model_.inputs);
    uint64_t labels = push(kBatchLabels, model_.labels);
    std::vector<uint64_t>& saved = saved_;
    saved.clear();
    for (uint64_t l = 0; l < layers; ++l) {
      temporary(kWorkspaceGemm, model_.workspace[l]);
      saved.push_back(push(kForwardLinear, model_.activation[l]));
      saved.push_back(push(kForwardActivation, model_.activation[l]));
    }
    uint64_t loss = push(kForwardLoss, model_.loss);
    pop(kBackwardRelease, loss, model_.loss);
    for (uint64_t l = layers; l-- > 0;) {
      pop(kBackwardRelease, saved[2 * l + 1], model_.activation[l]);
      pop(kBackwardRelease, saved[2 * l], model_.activation[l]);
      temporary(kBackwardLinearGrad, model_.activation[l]);
      if (first) {
        for (uint64_t p = model_.layer_first_param[l]; p < model_.layer_first_param[l + 1]; ++p) {
          long_lived(kAccumulateGrad, model_.param_sizes[p]);
        }
      }
    }
    if (first) {
      for (uint64_t p = 0; p < model_.trained; ++p) {
        long_lived(kOptimizerInitState, model_.param_sizes[p]);  // exp_avg
        long_lived(kOptimizerInitState, model_.param_sizes[p]);  // exp_avg_sq
      }
    }
    for (uint64_t k = 0; k <= extra_updates; ++k) temporary(kOptimizerStep, model_.optimizer_temp);
    pop(kStepCleanup, labels, model_.labels);
    pop(kStepCleanup, inputs, model_.inputs);
    trace_.range(false);
    ++iterations_;
  }

  // Frees the last `count` long-lived allocations (optimizer state) after the
  // last iteration, as `del optimizer` does.
  void teardown(uint64_t count) {
    for (uint64_t k = 0; k < count; ++k) {
      uint64_t size = model_.param_sizes[model_.trained - 1 - k / 2];
      next_long_lived_ -= size;
      trace_.free(kTeardown, next_long_lived_, size);
    }
  }

  uint64_t iterations() const { return iterations_; }

 private:
  void long_lived(Site site, uint64_t size) {
    trace_.alloc(site, next_long_lived_, size);
    next_long_lived_ += size;  // sizes are multiples of 512: addresses stay aligned
  }
  uint64_t push(Site site, uint64_t size) {
    uint64_t address = kTransientBase + top_;
    trace_.alloc(site, address, size);
    top_ += size;
    return address;
  }
  void pop(Site site, uint64_t address, uint64_t size) {
    top_ -= size;
    trace_.free(site, address, size);
  }
  void temporary(Site site, uint64_t size) {
    uint64_t address = push(site, size);
    pop(site, address, size);
  }

  JobTrace& trace_;
  const Model& model_;
  std::vector<uint64_t> saved_;
  uint64_t top_ = 0;
  uint64_t next_long_lived_ = kLongLivedBase;
  uint64_t iterations_ = 0;
};

Header job_header(const Options& options) {
  Header h;
  h.start_ns = 5'000'000'000;
  h.start_unix_ns = 1'790'000'000'000'000'000;  // fixed: the same seed gives the same file
  h.pid = 4242;
  h.parent_pid = 4200;
  h.host = "synthetic";
  h.command_line = {"python", "train.py", "--synthetic", "--seed", std::to_string(options.seed)};
  return h;
}

int generate(const Options& options) {
  // The plan: parameters, a first step with the rest of the long-lived
  // memory, whole steps, then a shorter last step and up to 9 teardown frees
  // for the remainder.
  const uint64_t minimum = options.live + kStepEvents;
  if (options.events < minimum) {
    std::fprintf(
        stderr,
        "vramscope_trace_generator: --events %llu is too few for --live %llu: at least %llu are needed\n",
        static_cast<unsigned long long>(options.events), static_cast<unsigned long long>(options.live),
        static_cast<unsigned long long>(minimum));
    return 2;
  }
  uint64_t rest = options.events - minimum;
  uint64_t whole_steps = rest / kStepEvents;
  uint64_t remainder = rest % kStepEvents;
  uint64_t teardown_frees = remainder;
  uint64_t last_layers = 0, last_updates = 0;
  bool last_step = remainder >= kStepFixedEvents;
  if (last_step) {
    uint64_t r = remainder - kStepFixedEvents;
    last_layers = r / kLayerEvents;
    last_updates = r % kLayerEvents / 2;
    teardown_frees = r % 2;
  }

  auto started = std::chrono::steady_clock::now();
  Random sizes(options.seed * 0x2545f4914f6cdd1dull + 1);
  Model model = make_model(options.live, sizes);
  JobTrace trace(options.output, job_header(options), options.seed);
  JobWriter job(trace, model);

  const bool progress = options.events >= 10'000'000;
  uint64_t next_report = options.events / 10;
  auto report_progress = [&]() {
    if (!progress || trace.events() < next_report) return;
    std::fprintf(stderr, "vramscope_trace_generator: %llu of %llu events (%.0f%%)\n",
                 static_cast<unsigned long long>(trace.events()),
                 static_cast<unsigned long long>(options.events),
                 100.0 * static_cast<double>(trace.events()) / static_cast<double>(options.events));
    next_report += options.events / 10;
  };

  job.parameters();
  job.step(kLayers, true);
  for (uint64_t k = 0; k < whole_steps; ++k) {
    job.step(kLayers, false);
    report_progress();
  }
  if (last_step) job.step(last_layers, false, last_updates);
  job.teardown(teardown_frees);
  if (trace.events() != options.events) {
    throw std::logic_error("wrote " + std::to_string(trace.events()) + " events instead of " +
                           std::to_string(options.events));
  }
  trace.end();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  uint64_t file_bytes = std::filesystem::file_size(options.output);
  std::fprintf(
      stderr,
      "vramscope_trace_generator: events=%llu allocations=%llu frees=%llu iterations=%llu "
      "file_bytes=%llu (%s) peak_bytes=%llu (%s) peak_allocations=%llu live_at_exit_bytes=%llu (%s) "
      "live_at_exit_allocations=%llu parameters=%llu gradients=%llu optimizer_states=%llu seconds=%.2f\n",
      static_cast<unsigned long long>(trace.events()), static_cast<unsigned long long>(trace.allocations()),
      static_cast<unsigned long long>(trace.frees()), static_cast<unsigned long long>(job.iterations()),
      static_cast<unsigned long long>(file_bytes), vramscope::format_size(file_bytes).c_str(),
      static_cast<unsigned long long>(trace.peak_bytes()), vramscope::format_size(trace.peak_bytes()).c_str(),
      static_cast<unsigned long long>(trace.peak_count()),
      static_cast<unsigned long long>(trace.live_bytes()), vramscope::format_size(trace.live_bytes()).c_str(),
      static_cast<unsigned long long>(trace.live_count()),
      // Parameters and buffers are made before the first step; each trained
      // parameter gets a gradient and two optimizer states in it.
      static_cast<unsigned long long>(model.param_sizes.size()),
      static_cast<unsigned long long>(model.trained), static_cast<unsigned long long>(2 * model.trained),
      seconds);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return vramscope::bench::tool_main("vramscope_trace_generator", kUsage, argc, argv, parse_options,
                                     generate);
}
