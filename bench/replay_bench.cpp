// What-if replay speed (docs/performance.md, "Replay"): requests replayed per
// second through each allocator model, against the exact allocator (the
// least work a replay can do) in the same run, and `--fit` on a 10 M-request
// job. The job is synthetic and training-like: parameters live throughout,
// each step's activations are freed in reverse, with gradients and
// temporaries of many sizes.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "analyzer/replay.h"

using namespace vramscope::analysis;

namespace {

constexpr uint64_t KiB = 1024;
constexpr uint64_t MiB = 1024 * KiB;

ReplayInput training_job(size_t requests) {
  ReplayInput in;
  std::mt19937_64 random(42);
  uint64_t time = 0;
  auto alloc = [&](uint64_t size) {
    ReplayRequest r;
    r.time_ns = time += 100;
    r.size = size;
    r.id = in.allocations++;
    in.requests.push_back(r);
    return r.id;
  };
  auto release = [&](uint32_t id) {
    ReplayRequest r;
    r.time_ns = time += 100;
    r.id = id;
    r.alloc = false;
    in.requests.push_back(r);
  };
  // Sizes as a model's layers give them: a few shapes, many small tensors.
  const uint64_t shapes[] = {512,     4 * KiB,  96 * KiB, 768 * KiB, 1 * MiB + 4 * KiB, 3 * MiB,
                             9 * MiB, 12 * MiB, 24 * MiB, 48 * MiB,  96 * MiB,          200 * MiB};
  std::discrete_distribution<size_t> pick({30, 20, 12, 10, 6, 6, 5, 4, 3, 2, 1, 1});
  for (int p = 0; p < 200; ++p) alloc(shapes[pick(random)]);  // parameters
  std::vector<uint32_t> activations;
  while (in.requests.size() < requests) {
    activations.clear();
    for (int layer = 0; layer < 400 && in.requests.size() < requests; ++layer) {
      activations.push_back(alloc(shapes[pick(random)] + 512 * (random() % 8)));
      if (random() % 3 == 0) release(alloc(shapes[pick(random)]));  // a temporary
    }
    while (!activations.empty() && in.requests.size() < requests) {  // backward
      const uint32_t gradient = alloc(shapes[pick(random)]);
      release(activations.back());
      activations.pop_back();
      release(gradient);
    }
  }
  in.requests.resize(requests);
  return in;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  size_t requests = 10'000'000;
  int rounds = 5;
  std::string markdown;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--requests" && i + 1 < argc) {
      requests = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--rounds" && i + 1 < argc) {
      rounds = std::atoi(argv[++i]);
    } else if (arg == "--markdown" && i + 1 < argc) {
      markdown = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: vramscope_replay_bench [--requests N] [--rounds R] [--markdown FILE]\n"
                   "Replays a synthetic training job of N requests (default 10,000,000) R times\n"
                   "(default 5) through each allocator model, and times --fit once for each.\n");
      return arg == "--help" ? 0 : 2;
    }
  }
  if (requests < 1000 || rounds < 1) {
    std::fprintf(stderr, "vramscope_replay_bench: at least 1000 requests and 1 round\n");
    return 2;
  }
  const ReplayInput job = training_job(requests);
  std::printf("replay bench: %zu requests, %u allocations, %d rounds\n", job.requests.size(), job.allocations,
              rounds);
  struct Row {
    AllocatorModel model;
    std::vector<double> seconds;
    uint64_t peak_reserved = 0;
  };
  std::vector<Row> rows = {
      {AllocatorModel::Exact, {}},
      {AllocatorModel::Torch, {}},
      {AllocatorModel::TorchExpandable, {}},
      {AllocatorModel::CudaAsync, {}},
  };
  for (int round = 0; round < rounds; ++round) {
    for (Row& row : rows) {  // interleaved, round by round
      const auto start = std::chrono::steady_clock::now();
      const ReplayResult r = replay(job, row.model, TorchSettings{}, UINT64_MAX);
      row.seconds.push_back(seconds_since(start));
      row.peak_reserved = r.peak_reserved;
    }
  }
  std::string table =
      "| allocator model | median seconds | requests per second | time / exact | peak reserved |\n"
      "|---|---|---|---|---|\n";
  double exact_median = 0;
  for (Row& row : rows) {
    std::sort(row.seconds.begin(), row.seconds.end());
    const double median = row.seconds[row.seconds.size() / 2];
    if (row.model == AllocatorModel::Exact) exact_median = median;
    char line[256];
    std::snprintf(line, sizeof line, "| %s | %.3f | %.2f M | %.2f | %.2f GiB |\n", model_name(row.model),
                  median, static_cast<double>(job.requests.size()) / median / 1e6, median / exact_median,
                  static_cast<double>(row.peak_reserved) / (1024.0 * MiB));
    table += line;
  }
  // --fit as `vramscope replay --fit` runs it: a bisection for each model.
  table += "\n";
  double fit_total = 0;
  for (AllocatorModel model : {AllocatorModel::Torch, AllocatorModel::TorchExpandable,
                               AllocatorModel::CudaAsync, AllocatorModel::Exact}) {
    const auto start = std::chrono::steady_clock::now();
    const uint64_t fit = smallest_capacity(job, model, TorchSettings{});
    const double fit_seconds = seconds_since(start);
    fit_total += fit_seconds;
    char line[256];
    std::snprintf(line, sizeof line, "--fit (%s) on %zu requests: %.2f s, smallest capacity %.2f GiB\n",
                  model_name(model), job.requests.size(), fit_seconds,
                  static_cast<double>(fit) / (1024.0 * MiB));
    table += line;
  }
  char total[128];
  std::snprintf(total, sizeof total, "--fit, all four models: %.2f s\n", fit_total);
  table += total;
  std::fputs(table.c_str(), stdout);
  if (!markdown.empty()) {
    if (std::FILE* f = std::fopen(markdown.c_str(), "w")) {
      std::fputs(table.c_str(), f);
      std::fclose(f);
    }
  }
  return 0;
}
