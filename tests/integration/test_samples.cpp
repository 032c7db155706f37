// Every sample under `vramscope run` on simcuda: exact counts, bytes, sites
// and verdicts from the JSON report, and output unchanged by the profiler.
#include <doctest/doctest.h>

#include "tests/integration/harness.h"

using namespace vramscope::testing;
using nlohmann::json;

namespace {

bool starts_with_function(const json& entry, const std::string& name) {
  std::string function = entry["function"];
  return function.find(name) != std::string::npos;
}

}  // namespace

TEST_CASE("train_mlp with Adam: parameters, gradients, two states per parameter, activations") {
  ScratchDir dir("mlp-adam");
  std::vector<std::string> command = {sample("train_mlp"), "--optimizer", "adam"};
  ProcessResult run = run_profiled(dir.path("t.vstrace"), command);
  check_output_unchanged(command, run);
  json r = report_json(dir.path("t.vstrace"));
  // P = L(4W^2 + 4W) = 16793600; state 2P; A = 4BW = 262144; peak = 4P + 6A.
  CHECK(r["counts"]["allocations"] == 59);
  CHECK(r["counts"]["frees"] == 59);
  CHECK(r["counts"]["failed_allocations"] == 0);
  CHECK(r["counts"]["unmatched_frees"] == 0);
  REQUIRE(r["devices"].size() == 1);
  const json& device = r["devices"][0];
  CHECK(device["simulated"] == !on_real_gpu());
  CHECK(device["peak"]["bytes"] == 68747264);
  CHECK(device["peak"]["live_allocations"] == 38);
  const json& top = device["peak"]["sites"][0];
  CHECK(starts_with_function(top, "allocate_optimizer_state"));
  CHECK(top["bytes"] == 33587200);
  CHECK(top["count"] == 16);
  CHECK(top["line"].get<int>() > 0);
  CHECK(std::string(top["file"]).ends_with("train_mlp.cpp"));
  CHECK(r["leaks"]["bytes"] == 0);
  CHECK(r["trace"]["cut_short"] == false);
  CHECK(r["trace"]["end"]["reason"] == "exit");
  CHECK(r["trace"]["end"]["code"] == 0);
  // One call, one event: every allocation counted at the driver, attributed to the runtime.
  REQUIRE(r["apis"].size() == 2);
  CHECK(find_by(r["apis"], "api", "cuMemAlloc")["via"] == "cudaMalloc");
  CHECK(find_by(r["apis"], "api", "cuMemAlloc")["count"] == 59);
  CHECK(find_by(r["apis"], "api", "cuMemFree")["count"] == 59);
}

TEST_CASE("train_mlp with libgcc's unwinder: the same sites, lines and bytes as with libunwind") {
  ScratchDir dir("mlp-libgcc");
  std::vector<std::string> command = {sample("train_mlp"), "--optimizer", "adam"};
  ProcessResult native_run = run_profiled(dir.path("native.vstrace"), command, {"--stacks", "native"});
  ProcessResult libgcc_run = run_profiled(dir.path("libgcc.vstrace"), command, {"--stacks", "libgcc"});
  CHECK(libgcc_run.err.find("not available") == std::string::npos);
  check_output_unchanged(command, libgcc_run);
  json native = report_json(dir.path("native.vstrace"))["devices"][0]["peak"]["sites"];
  json libgcc = report_json(dir.path("libgcc.vstrace"))["devices"][0]["peak"]["sites"];
  REQUIRE(libgcc.size() == native.size());
  REQUIRE(libgcc.size() >= 3);
  CHECK(starts_with_function(libgcc[0], "allocate_optimizer_state"));
  for (size_t i = 0; i < native.size(); ++i) {
    CAPTURE(i);
    CHECK(libgcc[i]["function"] == native[i]["function"]);
    CHECK(libgcc[i]["file"] == native[i]["file"]);
    CHECK(libgcc[i]["line"] == native[i]["line"]);
    CHECK(libgcc[i]["bytes"] == native[i]["bytes"]);
    CHECK(libgcc[i]["count"] == native[i]["count"]);
  }
}

TEST_CASE("train_mlp with SGD keeps no optimizer state, with momentum one per parameter") {
  ScratchDir dir("mlp-sgd");
  json plain_sgd, momentum;
  {
    std::vector<std::string> command = {sample("train_mlp"), "--optimizer", "sgd"};
    check_output_unchanged(command, run_profiled(dir.path("sgd.vstrace"), command));
    plain_sgd = report_json(dir.path("sgd.vstrace"));
  }
  {
    std::vector<std::string> command = {sample("train_mlp"), "--optimizer", "sgd", "--momentum"};
    check_output_unchanged(command, run_profiled(dir.path("momentum.vstrace"), command));
    momentum = report_json(dir.path("momentum.vstrace"));
  }
  // Peak = (2 + s)P + 6A with s = 0 and 1.
  CHECK(plain_sgd["devices"][0]["peak"]["bytes"] == 35160064);
  CHECK(momentum["devices"][0]["peak"]["bytes"] == 51953664);
  CHECK(plain_sgd["counts"]["allocations"] == 43);
  CHECK(momentum["counts"]["allocations"] == 51);
  CHECK(find_by(plain_sgd["devices"][0]["peak"]["sites"], "count", 16).is_null());
}

TEST_CASE("leak: the planted bytes are live at exit, at the planted function") {
  ScratchDir dir("leak");
  std::vector<std::string> command = {sample("leak"), "--steps", "10", "--leak-bytes", "1MiB"};
  ProcessResult run = run_profiled(dir.path("t.vstrace"), command);
  check_output_unchanged(command, run);
  json r = report_json(dir.path("t.vstrace"));
  CHECK(r["leaks"]["bytes"] == 10 * MiB);
  CHECK(r["leaks"]["count"] == 10);
  REQUIRE(r["leaks"]["groups"].size() == 1);
  const json& group = r["leaks"]["groups"][0];
  CHECK(starts_with_function(group, "cache_step_statistics"));
  CHECK(group["bytes"] == 10 * MiB);
  CHECK(group["count"] == 10);
  CHECK(group["kind"] == "device");
  CHECK(r["counts"]["allocations"] == 20);
  CHECK(r["counts"]["frees"] == 10);
  CHECK(r["devices"][0]["peak"]["bytes"] == 14680064);
  CHECK(r["devices"][0]["live_at_exit_bytes"] == 10 * MiB);
}

TEST_CASE("oom: the failed request with the free and total memory at that moment") {
  if (on_real_gpu()) return;  // needs simcuda's capacity setting
  ScratchDir dir("oom");
  std::vector<std::string> command = {sample("oom")};
  // 1124 MiB: four 256 MiB chunks fit, the fifth fails with 100 MiB free.
  ProcessOptions options;
  options.set_env["VRAMSCOPE_SIM_CAPACITY"] = "1124MiB";
  ProcessResult run = run_profiled(dir.path("t.vstrace"), command, {"--simulate=1124MiB"});
  check_output_unchanged(command, run, options);
  json r = report_json(dir.path("t.vstrace"));
  CHECK(r["counts"]["allocations"] == 4);
  CHECK(r["counts"]["failed_allocations"] == 1);
  REQUIRE(r["failed_allocations"].size() == 1);
  const json& failure = r["failed_allocations"][0];
  CHECK(failure["requested_bytes"] == 256 * MiB);
  CHECK(failure["error"] == 2);
  CHECK(failure["error_name"] == "CUDA_ERROR_OUT_OF_MEMORY");
  CHECK(failure["free_bytes"] == 100 * MiB);
  CHECK(failure["total_bytes"] == 1124 * MiB);
  CHECK(failure["live_bytes"] == 1024 * MiB);
  CHECK(failure["api"] == "cuMemAlloc");
  CHECK(failure["via"] == "cudaMalloc");
  CHECK(starts_with_function(failure, "grow_until_full"));
  CHECK(r["devices"][0]["peak"]["bytes"] == 1024 * MiB);
  CHECK(r["devices"][0]["total_bytes"] == 1124 * MiB);
}

TEST_CASE("oom with memory held by another process fails sooner, and says how much is free") {
  if (on_real_gpu()) return;  // needs simcuda's other-process setting
  ScratchDir dir("oom-other");
  ProcessOptions options;
  options.set_env["VRAMSCOPE_SIM_OTHER_PROCESS"] = "512MiB";
  run_profiled(dir.path("t.vstrace"), {sample("oom")}, {"--simulate=1124MiB"}, options);
  json r = report_json(dir.path("t.vstrace"));
  CHECK(r["counts"]["allocations"] == 2);
  REQUIRE(r["failed_allocations"].size() == 1);
  CHECK(r["failed_allocations"][0]["free_bytes"] == 100 * MiB);
  CHECK(r["failed_allocations"][0]["live_bytes"] == 512 * MiB);
}

TEST_CASE("threads: every thread's allocations, counted once each") {
  ScratchDir dir("threads");
  std::vector<std::string> command = {sample("threads"), "--threads", "8", "--iterations", "100"};
  ProcessResult run = run_profiled(dir.path("t.vstrace"), command);
  check_output_unchanged(command, run);
  json r = report_json(dir.path("t.vstrace"));
  CHECK(r["counts"]["allocations"] == 800);
  CHECK(r["counts"]["frees"] == 800);
  CHECK(r["counts"]["unmatched_frees"] == 0);
  CHECK(kind(r, "device")["allocated_bytes"] == 3774873600ull);
  CHECK(r["leaks"]["bytes"] == 0);
  // Thread t allocates (t + 1) MiB 100 times.
  std::vector<uint64_t> per_thread;
  for (const auto& t : r["threads"]) {
    if (t["allocations"] != 0) {
      CHECK(t["allocations"] == 100);
      per_thread.push_back(t["allocated_bytes"]);
    }
  }
  std::sort(per_thread.begin(), per_thread.end());
  REQUIRE(per_thread.size() == 8);
  for (uint64_t t = 0; t < 8; ++t) CHECK(per_thread[t] == 100 * (t + 1) * MiB);
}

TEST_CASE("dlsym_driver: driver functions found through dlsym and cuGetProcAddress are counted") {
  ScratchDir dir("dlsym");
  std::vector<std::string> command = {sample("dlsym_driver")};
  ProcessResult run = run_profiled(dir.path("t.vstrace"), command);
  check_output_unchanged(command, run);
  json r = report_json(dir.path("t.vstrace"));
  CHECK(r["counts"]["allocations"] == 5);
  CHECK(r["counts"]["frees"] == 5);
  CHECK(kind(r, "device")["allocated_bytes"] == 251658240);
  CHECK(r["devices"][0]["peak"]["bytes"] == 201326592);
  CHECK(find_by(r["apis"], "api", "cuMemAlloc")["count"] == 5);
}

TEST_CASE("vmm: reserve, create, map, unmap, release, free as expandable segments do") {
  ScratchDir dir("vmm");
  std::vector<std::string> command = {sample("vmm")};
  ProcessResult run = run_profiled(dir.path("t.vstrace"), command);
  check_output_unchanged(command, run);
  json r = report_json(dir.path("t.vstrace"));
  json reserve = kind(r, "virtual address reserve");
  CHECK(reserve["allocations"] == 1);
  CHECK(reserve["allocated_bytes"] == 16 * MiB);
  CHECK(reserve["frees"] == 1);
  json physical = kind(r, "virtual memory (physical)");
  CHECK(physical["allocations"] == 3);
  CHECK(physical["allocated_bytes"] == 12 * MiB);
  CHECK(physical["frees"] == 3);
  json mapping = kind(r, "virtual mapping");
  CHECK(mapping["allocations"] == 3);
  CHECK(mapping["frees"] == 3);
  // Physical memory is what occupies the GPU.
  CHECK(r["devices"][0]["peak"]["bytes"] == 12 * MiB);
  CHECK(r["leaks"]["bytes"] == 0);
}

TEST_CASE("kinds: totals by kind of memory") {
  ScratchDir dir("kinds");
  std::vector<std::string> command = {sample("kinds")};
  ProcessResult run = run_profiled(dir.path("t.vstrace"), command);
  check_output_unchanged(command, run);
  json r = report_json(dir.path("t.vstrace"));
  json device = kind(r, "device");
  CHECK(device["allocations"] == 2);
  CHECK(device["allocated_bytes"] == 1 * MiB + 102400);
  json async = kind(r, "async pool");
  CHECK(async["allocations"] == 2);
  CHECK(async["allocated_bytes"] == 5 * MiB);
  CHECK(kind(r, "managed")["allocated_bytes"] == 4 * MiB);
  json pinned = kind(r, "pinned host");
  CHECK(pinned["allocations"] == 2);
  CHECK(pinned["allocated_bytes"] == 11 * MiB);
  CHECK(kind(r, "host registered")["allocated_bytes"] == 7 * MiB);
  CHECK(kind(r, "memory pool")["allocations"] == 1);
  CHECK(r["leaks"]["bytes"] == 0);
  CHECK(r["counts"]["unmatched_frees"] == 0);
  CHECK(r["counts"]["allocations"] == r["counts"]["frees"]);
}
