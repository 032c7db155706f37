// What the integration tests share: running a sample plainly and under
// `vramscope run`, and reading the JSON report of its trace.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "tests/support/subprocess.h"

namespace vramscope::testing {

// A fresh directory for one test's traces, removed at the end.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name);
  ~ScratchDir();
  std::string path(const std::string& file) const { return dir_ + "/" + file; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

std::string sample(const std::string& name);

// The Python interpreter itself, not a launcher script (pyenv's shims fork shells).
std::string python();

// VRAMSCOPE_TEST_REAL_GPU=1: run the jobs on the machine's GPU instead of
// simcuda (scripts/gpu_check.sh). Tests that need simcuda's settings skip.
bool on_real_gpu();

// `vramscope ARGS...`.
ProcessResult run_vramscope(const std::vector<std::string>& args, const ProcessOptions& options = {});

// The sample alone on simcuda, no profiler.
ProcessResult run_plain(const std::vector<std::string>& command, const ProcessOptions& options = {});

// `vramscope run -q --simulate -o TRACE -- COMMAND...`; checks it exited 0.
ProcessResult run_profiled(const std::string& trace, const std::vector<std::string>& command,
                           const std::vector<std::string>& run_options = {}, const ProcessOptions& options = {});

// `vramscope report TRACE --json -`, parsed; fails the test if report fails.
nlohmann::json report_json(const std::string& trace);

// The entry of `array` whose `key` equals `value` (null if none).
nlohmann::json find_by(const nlohmann::json& array, const std::string& key, const nlohmann::json& value);

inline constexpr uint64_t MiB = 1024 * 1024;

// train_mlp at its defaults (L=4, W=1024, B=64, S=3): P = L(4W^2 + 4W) bytes of
// parameters, A = 4BW bytes per activation (samples/train_mlp.cpp).
inline constexpr uint64_t P = 16793600;
inline constexpr uint64_t A = 262144;
inline constexpr uint64_t L = 4;

// The sample prints the same with and without the profiler, and exits 0.
void check_output_unchanged(const std::vector<std::string>& command, const ProcessResult& profiled,
                            const ProcessOptions& options = {});

// The report's totals of one memory kind; fails the test if it is missing.
nlohmann::json kind(const nlohmann::json& report, const std::string& name);

// train_mlp with `options` under the profiler, and its JSON report.
nlohmann::json train_report(const ScratchDir& dir, const std::string& name, const std::vector<std::string>& options);

}  // namespace vramscope::testing
