// `vramscope replay` from the command line, on the samples' traces: the
// recorded segments made again, out of memory where the capacity is short,
// its exit statuses, and one line for every mistake.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "tests/integration/harness.h"

using namespace vramscope::testing;
using nlohmann::json;

namespace {

int line_count(const std::string& text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

json replay_json(const std::vector<std::string>& args, int expected_status = 0) {
  std::vector<std::string> command = {"replay"};
  command.insert(command.end(), args.begin(), args.end());
  command.insert(command.end(), {"--json", "-"});
  ProcessResult r = run_vramscope(command);
  INFO("stderr: " << r.err);
  CHECK(r.exit_status == expected_status);
  return json::parse(r.out);
}

}  // namespace

TEST_CASE("replay of the caching_allocator sample: its own segments again, and out of memory on less") {
  if (on_real_gpu()) return;  // capacities are simcuda's
  ScratchDir dir("replay-sample");
  const std::string trace = dir.path("t.vstrace");
  run_profiled(trace, {sample("caching_allocator"), "--workload", "fragment"});
  // The sample's allocator follows PyTorch's policy: the model makes its 3
  // segments (20, 20 and 20 MiB) in the same order.
  json r = replay_json({trace});
  CHECK(r["requests"]["level"] == "tensor blocks");
  CHECK(r["requests"]["allocations"] == 11);
  CHECK(r["fits"] == true);
  CHECK(r["peak_reserved"]["bytes"] == 60 * MiB);
  CHECK(r["peak_allocated_bytes"] == 40 * MiB);
  CHECK(r["segments"]["made"] == 3);
  CHECK(r["recorded"]["segments"] == 3);
  CHECK(r["recorded"]["same_segments"] == 3);
  CHECK(r["recorded"]["peak_reserved_bytes"] == 60 * MiB);
  // The text says the same.
  ProcessResult text = run_vramscope({"replay", trace});
  CHECK(text.exit_status == 0);
  CHECK(text.out.find("3 segments, the same as the replay's, in order") != std::string::npos);
  // On 40 MiB it runs out where it needs its third segment: exit status 1.
  json short_of = replay_json({trace, "--capacity", "40MiB"}, 1);
  CHECK(short_of["fits"] == false);
  CHECK(short_of["out_of_memory"]["size"] == 8 * MiB);
  CHECK(short_of["out_of_memory"]["reserved_bytes"] == 40 * MiB);
  // The driver's pool (cuda-async) maps the 8 MiB at the top, and on 40 MiB
  // first unmaps the ten wholly free 2 MiB pages of the five holes.
  json pool = replay_json({trace, "--allocator", "cuda-async", "--capacity", "40MiB"});
  CHECK(pool["allocator"]["model"] == "cuda-async");
  CHECK(pool["fits"] == true);
  CHECK(pool["segments"]["retries"] == 1);
  CHECK(pool["segments"]["given_back"] == 5);         // five runs of two pages
  CHECK(pool["peak_reserved"]["bytes"] == 40 * MiB);  // before the holes were given back
  json pool_unlimited = replay_json({trace, "--allocator", "cuda-async"});
  CHECK(pool_unlimited["peak_reserved"]["bytes"] == 48 * MiB);
  // The exact allocator needs only what is live at once; --fit says so for each.
  json fit = replay_json({trace, "--fit"});
  REQUIRE(fit["fit"].size() == 4);
  CHECK(fit["fit"][0]["setting"] == "torch (PyTorch's defaults)");
  CHECK(fit["fit"][0]["smallest_capacity"] == 60 * MiB);
  CHECK(fit["fit"][2]["setting"] == "cuda-async (backend:cudaMallocAsync)");
  CHECK(fit["fit"][2]["smallest_capacity"] == 40 * MiB);
  CHECK(fit["fit"][3]["setting"] == "exact");
  CHECK(fit["fit"][3]["smallest_capacity"] == 40 * MiB);
}

TEST_CASE("replay of a PyTorch job: its segments, and its out-of-memory where the job had it") {
  if (on_real_gpu()) return;  // simtorch
  ScratchDir dir("replay-torch");
  const std::string trace = dir.path("t.vstrace");
  ProcessOptions options;
  options.set_env["PYTHONPATH"] = std::string(VRAMSCOPE_SOURCE_DIR) + "/samples/simtorch";
  ProcessResult run = run_vramscope(
      {"run", "-q", "--simulate=4GiB", "-o", trace, "--", python(),
       std::string(VRAMSCOPE_SOURCE_DIR) + "/samples/torch_leak_oom.py"},
      options);
  REQUIRE(run.exit_status == 0);
  // The job asks for 1 PiB at the end, as planned: on its 4 GiB the replay
  // runs out there too, with PyTorch's figures of that moment.
  json r = replay_json({trace}, 1);
  CHECK(r["capacity"] == 4 * 1024 * MiB);
  CHECK(r["requests"]["out_of_memory"] == 1);
  CHECK(r["out_of_memory"]["size"] == uint64_t{1} << 50);
  CHECK(r["out_of_memory"]["allocated_bytes"] == 54'837'760);  // max_memory_allocated, as the job printed
  CHECK(r["peak_reserved"]["bytes"] == 69'206'016);            // max_memory_reserved
  CHECK(r["recorded"]["same_segments"] == 6);
  CHECK(r["segments"]["made"] == 6);
}

TEST_CASE("replay refuses bad flags and traces it cannot replay with one line") {
  ScratchDir dir("replay-bad");
  ProcessResult help = run_vramscope({"replay", "--help"});
  CHECK(help.exit_status == 0);
  CHECK(help.out.find("--allocator torch|torch-expandable|cuda-async|exact") != std::string::npos);
  CHECK(help.out.find("--scale-batch F") != std::string::npos);

  struct Case {
    std::vector<std::string> args;
    int status;
    std::string message;
  };
  const std::string source = VRAMSCOPE_SOURCE_DIR;
  const std::string snapshot = source + "/tests/data/interop/pytorch-snapshots/decomfl_memory.pickle";
  const Case cases[] = {
      {{"replay"}, 2, "vramscope: replay: which trace? (usage: vramscope replay TRACE [options])\n"},
      {{"replay", snapshot, "--allocator", "jemalloc"},
       2,
       "vramscope: replay: --allocator wants torch, torch-expandable, cuda-async or exact, not 'jemalloc'\n"},
      {{"replay", snapshot, "--max-split-size", "16MiB"},
       2,
       "vramscope: replay: --max-split-size must be more than 20 MiB, as PyTorch requires\n"},
      {{"replay", snapshot, "--max-split-size", "100.5MiB"},
       2,
       "vramscope: replay: --max-split-size must be whole MiB, as PyTorch's max_split_size_mb is, not "
       "100.50 MiB\n"},
      {{"replay", snapshot, "--capacity", "lots"},
       2,
       "vramscope: replay: bad size 'lots' for --capacity (e.g. 24GiB)\n"},
      {{"replay", snapshot, "--roundup-power2-divisions", "3"},
       2,
       "vramscope: replay: --roundup-power2-divisions wants a power of two (or 0), or a list such as "
       "[256:1,512:2,>:8], not '3'\n"},
      {{"replay", snapshot, "--garbage-collection-threshold", "1.5"},
       2,
       "vramscope: replay: --garbage-collection-threshold wants a fraction between 0 and 1, not '1.5'\n"},
      {{"replay", snapshot, "--scale-batch", "0"},
       2,
       "vramscope: replay: --scale-batch wants a factor above 0 (e.g. 0.5 or 2), not '0'\n"},
      {{"replay", snapshot, "--allocator", "exact", "--max-split-size", "64MiB"},
       2,
       "vramscope: replay: PyTorch's settings apply to --allocator torch and torch-expandable, not exact\n"},
      {{"replay", snapshot, "--allocator", "cuda-async", "--garbage-collection-threshold", "0.5"},
       2,
       "vramscope: replay: PyTorch's settings apply to --allocator torch and torch-expandable, not "
       "cuda-async\n"},
      {{"replay", snapshot, "--frobnicate"}, 2, ""},
      {{"replay", dir.path("missing.vstrace")},
       1,
       "vramscope: cannot open " + dir.path("missing.vstrace") + ": No such file or directory\n"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.args);
    ProcessResult r = run_vramscope(c.args);
    CHECK(r.exit_status == c.status);
    CHECK(line_count(r.err) == 1);
    if (!c.message.empty()) CHECK(r.err == c.message);
    CHECK(r.out.empty());
  }

  // A job that never touched GPU memory has nothing to replay.
  const std::string empty = dir.path("empty.vstrace");
  run_profiled(empty, {VRAMSCOPE_EXIT_PATHS, "dlsym"});
  ProcessResult nothing = run_vramscope({"replay", empty});
  CHECK(nothing.exit_status == 1);
  CHECK(nothing.err == "vramscope: replay: " + empty + ": the trace holds no device allocations to replay\n");
  // decomfl's iterations tell no activations: --scale-batch says so.
  ProcessResult no_activations = run_vramscope({"replay", snapshot, "--scale-batch", "2"});
  CHECK(no_activations.exit_status == 1);
  CHECK(line_count(no_activations.err) == 1);
  CHECK(no_activations.err.find("shows no activations to scale") != std::string::npos);
}
