// Integration-test support: scratch directories, runs, reports.
#include "tests/integration/harness.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace vramscope::testing {

namespace fs = std::filesystem;

ScratchDir::ScratchDir(const std::string& name) {
  dir_ = (fs::temp_directory_path() / ("vramscope-it-" + std::to_string(getpid()) + "-" + name)).string();
  fs::remove_all(dir_);
  fs::create_directories(dir_);
}

ScratchDir::~ScratchDir() {
  std::error_code error;
  fs::remove_all(dir_, error);
}

std::string sample(const std::string& name) { return std::string(VRAMSCOPE_SAMPLES_DIR) + "/" + name; }

std::string python() {
  static const std::string path = [] {
    ProcessResult r = run_process({"python3", "-c", "import sys; print(sys.executable)"});
    REQUIRE(r.exit_status == 0);
    return r.out.substr(0, r.out.find('\n'));
  }();
  return path;
}

bool on_real_gpu() {
  const char* value = std::getenv("VRAMSCOPE_TEST_REAL_GPU");
  return value && std::string(value) == "1";
}

ProcessResult run_vramscope(const std::vector<std::string>& args, const ProcessOptions& options) {
  std::vector<std::string> argv = {VRAMSCOPE_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, options);
}

ProcessResult run_plain(const std::vector<std::string>& command, const ProcessOptions& options) {
  ProcessOptions plain = options;
  if (!on_real_gpu()) plain.set_env["LD_LIBRARY_PATH"] = VRAMSCOPE_SIMCUDA_DIR;
  return run_process(command, plain);
}

ProcessResult run_profiled(const std::string& trace, const std::vector<std::string>& command,
                           const std::vector<std::string>& run_options, const ProcessOptions& options) {
  std::vector<std::string> args = {"run", "-q", "-o", trace};
  bool simulate_given = false;
  for (const auto& o : run_options) simulate_given |= o.rfind("--simulate", 0) == 0;
  if (!simulate_given && !on_real_gpu()) args.push_back("--simulate");
  args.insert(args.end(), run_options.begin(), run_options.end());
  args.push_back("--");
  args.insert(args.end(), command.begin(), command.end());
  ProcessResult result = run_vramscope(args, options);
  INFO("stderr: " << result.err);
  CHECK(result.exit_status == 0);
  return result;
}

nlohmann::json report_json(const std::string& trace) {
  ProcessResult result = run_vramscope({"report", trace, "--json", "-"});
  INFO("stderr: " << result.err);
  REQUIRE(result.exit_status == 0);
  return nlohmann::json::parse(result.out);
}

nlohmann::json find_by(const nlohmann::json& array, const std::string& key, const nlohmann::json& value) {
  for (const auto& item : array) {
    if (item.contains(key) && item[key] == value) return item;
  }
  return nullptr;
}

void check_output_unchanged(const std::vector<std::string>& command, const ProcessResult& profiled,
                            const ProcessOptions& options) {
  ProcessResult plain = run_plain(command, options);
  CHECK(plain.exit_status == 0);
  CHECK(profiled.out == plain.out);
  CHECK_FALSE(plain.out.empty());
}

nlohmann::json kind(const nlohmann::json& report, const std::string& name) {
  nlohmann::json k = find_by(report["kinds"], "kind", name);
  INFO("kind " << name);
  REQUIRE_FALSE(k.is_null());
  return k;
}

nlohmann::json train_report(const ScratchDir& dir, const std::string& name, const std::vector<std::string>& options) {
  std::vector<std::string> command = {sample("train_mlp")};
  command.insert(command.end(), options.begin(), options.end());
  run_profiled(dir.path(name), command);
  return report_json(dir.path(name));
}

}  // namespace vramscope::testing
