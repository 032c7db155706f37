// `vramscope run --backend cupti`. On simcuda the driver starts the backend
// (CUDA_INJECTION64_PATH, as the real driver does), but CUPTI cannot attach
// to a simulated driver: the backend says so on one line and the preload's
// hooks record every event, exactly as without it. On a real GPU
// (VRAMSCOPE_TEST_REAL_GPU=1), CUPTI attaches, says nothing, and records the
// same events. The callbacks' reading is unit-tested (test_cupti_events.cpp).
#include <doctest/doctest.h>

#include "tests/integration/harness.h"

using namespace vramscope::testing;
using nlohmann::json;

namespace {

size_t count_of(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

void check_leak_report(const json& r) {
  CHECK(r["counts"]["allocations"] == 20);
  CHECK(r["counts"]["frees"] == 10);
  CHECK(r["leaks"]["bytes"] == 10 * MiB);
  CHECK(r["devices"][0]["peak"]["bytes"] == 14680064);
  REQUIRE(r["leaks"]["groups"].size() == 1);
  CHECK(std::string(r["leaks"]["groups"][0]["function"]).find("cache_step_statistics") != std::string::npos);
}

}  // namespace

TEST_CASE(
    "run --backend cupti: CUPTI's callbacks, or the hooks where CUPTI cannot attach, with the same events") {
  ScratchDir dir("cupti");
  std::vector<std::string> command = {sample("leak")};
  ProcessResult run = run_profiled(dir.path("t.vstrace"), command, {"--backend", "cupti"});
  check_output_unchanged(command, run);
  if (on_real_gpu()) {
    CHECK(count_of(run.err, "no CUPTI backend") == 0);
  } else {
    CHECK(count_of(run.err, "\n") == 1);
    CHECK(run.err.starts_with("vramscope: no CUPTI backend: cuptiSubscribe failed: "));
    CHECK(run.err.ends_with("; recording through the preload path\n"));
  }
  check_leak_report(report_json(dir.path("t.vstrace")));
}

TEST_CASE("run --backend cupti: another tool's CUDA_INJECTION64_PATH is kept, and the hooks record") {
  ScratchDir dir("cupti-taken");
  ProcessOptions options;
  options.set_env["CUDA_INJECTION64_PATH"] = "/opt/another-tool/libinjection.so";
  ProcessResult run = run_profiled(dir.path("t.vstrace"), {sample("leak")}, {"--backend", "cupti"}, options);
  CHECK(run.err ==
        "vramscope: no CUPTI backend: CUDA_INJECTION64_PATH names another tool "
        "(/opt/another-tool/libinjection.so); recording through the preload path\n");
  check_leak_report(report_json(dir.path("t.vstrace")));

  ProcessResult bad = run_vramscope({"run", "--backend", "nvbit", "--", sample("leak")});
  CHECK(bad.exit_status == 2);
  CHECK(bad.err == "vramscope: --backend must be 'preload' or 'cupti', not 'nvbit'\n");
}
