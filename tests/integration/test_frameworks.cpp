// Python jobs under `vramscope run`: PyTorch's tensors from its allocator's
// history, merged into the driver-level trace (the start-up hook in
// injector/python/); the job's own sitecustomize; per-buffer modes. On
// simcuda the job's `torch` is simtorch (samples/simtorch), which keeps
// PyTorch's allocator history in PyTorch's schema; tests/gpu/run.sh runs the
// same job with PyTorch on a real GPU.
#include <doctest/doctest.h>

#include <fstream>
#include <regex>

#include "tests/integration/harness.h"

using namespace vramscope::testing;
using nlohmann::json;

namespace {

const std::string kSource = VRAMSCOPE_SOURCE_DIR;
const std::string kJob = kSource + "/samples/torch_leak_oom.py";

ProcessOptions with_simtorch(const std::string& more_path = "") {
  ProcessOptions options;
  options.set_env["PYTHONPATH"] = (more_path.empty() ? "" : more_path + ":") + kSource + "/samples/simtorch";
  return options;
}

// "torch max_memory_allocated A max_memory_reserved R", as the job prints it.
std::pair<uint64_t, uint64_t> torch_figures(const std::string& out) {
  std::smatch m;
  REQUIRE(std::regex_search(out, m, std::regex("max_memory_allocated (\\d+) max_memory_reserved (\\d+)")));
  return {std::stoull(m[1]), std::stoull(m[2])};
}

}  // namespace

TEST_CASE("PyTorch job: tensor blocks with Python stacks, PyTorch's peaks, the planted leak, its OOM") {
  if (on_real_gpu()) return;  // tests/gpu/run.sh runs it with PyTorch
  ScratchDir dir("torch-job");
  ProcessResult run = run_vramscope(
      {"run", "--simulate=4GiB", "-o", dir.path("t.vstrace"), "--", python(), kJob}, with_simtorch());
  INFO("stderr: " << run.err);
  REQUIRE(run.exit_status == 0);
  CHECK(run.out.find("out of memory, as planned") != std::string::npos);
  CHECK(run.err.find("PyTorch's allocator: 66 tensor blocks merged into " + dir.path("t.vstrace") +
                     " (clock tied by 5 of 5 segments)") != std::string::npos);
  auto [allocated, reserved] = torch_figures(run.out);
  // 3 layers of 1024 x 1024: 12,595,200 bytes each of parameters, gradients and
  // two Adam states; at the peak also 3 leaked MiB and 5 batches of 256 KiB
  // (x, the next x, three activations) and the 512-byte loss.
  CHECK(allocated == 54'837'760);
  CHECK(reserved == 69'206'016);

  json r = report_json(dir.path("t.vstrace"));
  CHECK(kind(r, "tensor block")["peak_bytes"] == allocated);
  CHECK(kind(r, "device")["peak_bytes"] == reserved);
  // 6 parameters, their gradients made again each of the 4 steps (24), 12
  // Adam states, and each step's input, 3 activations, loss and leak (24).
  CHECK(kind(r, "tensor block")["allocations"] == 66);
  // The driver's segments, with the Python line whose tensor made the allocator
  // take each: the largest, the parameters' line, with a 20 MiB segment for
  // the weights and a 2 MiB one for the biases.
  const json& site = r["devices"][0]["peak"]["sites"][0];
  CHECK(site["file"] == kJob);
  CHECK(site["line"] == 35);
  CHECK(site["bytes"] == 22 * MiB);
  // The planted leak: four 1 MiB blocks live at exit, made on the marked line.
  json leaked = json();
  for (const json& group : r["leaks"]["groups"]) {
    if (group["kind"] == "tensor block") leaked = group;
  }
  REQUIRE(leaked.is_object());
  CHECK(leaked["bytes"] == 4 * MiB);
  CHECK(leaked["count"] == 4);
  REQUIRE(!leaked["stack"].empty());
  CHECK(leaked["stack"][0]["file"] == kJob);
  CHECK(leaked["stack"][0]["line"] == 43);
  CHECK(leaked["stack"][0]["function"] == "main");
  // And it is what leaked: the allocator keeps its segments to the end, its
  // cache, which does not count.
  CHECK(r["leaks"]["bytes"] == 4 * MiB);
  CHECK(r["leaks"]["count"] == 4);
  CHECK(r["leaks"]["groups"][0] == leaked);
  CHECK(leaked["counted"] == true);
  uint64_t cached = 0;
  for (const json& group : r["leaks"]["groups"]) {
    if (group["allocator_cache"] == true) {
      CHECK(group["kind"] == "device");
      CHECK(group["counted"] == false);
      cached += group["bytes"].get<uint64_t>();
    }
  }
  CHECK(cached == reserved);
  CHECK(run.err.find("  live at exit: 4.00 MiB in 4 allocations, most from main (torch_leak_oom.py:43)\n") !=
        std::string::npos);
  // PyTorch's own out-of-memory notice, with its figures and the line that asked.
  json oom = find_by(r["failed_allocations"], "api", "caching allocator");
  REQUIRE(oom.is_object());
  CHECK(oom["requested_bytes"] == uint64_t{1} << 50);
  CHECK(oom["total_bytes"] == 4 * 1024 * MiB);
  CHECK(oom["live_bytes"] == reserved);
  CHECK(oom["diagnosis"]["verdict"] == "outsized request");
  // Then live: parameters, gradients and states (4 x 12,595,200), the 4
  // leaked MiB, the last input and the loss.
  CHECK(oom["diagnosis"]["evidence"]["allocated_bytes"] == 4 * 12'595'200 + 4 * MiB + 262'144 + 512);
  CHECK(oom["file"] == kJob);
  CHECK(oom["line"] == 47);
  // Its two tries at the driver (before and after giving back what it had
  // cached) say whose they were, and come before its notice.
  const json& failures = r["failed_allocations"];
  REQUIRE(failures.size() == 3);
  for (size_t i = 0; i < 2; ++i) {
    CHECK(failures[i]["api"] == "cuMemAlloc");
    CHECK(failures[i]["via"] == "caching allocator");
    CHECK(failures[i]["attempt_of"] == 2);
  }
  CHECK(failures[2]["api"] == "caching allocator");
  CHECK(failures[2]["attempt_of"].is_null());
  CHECK(failures[2]["driver_attempts"] == 2);
  // So the job ran out of memory once, as the run's summary says.
  CHECK(run.err.find("  failed allocations: 1; first: 1.00 PiB (CUDA_ERROR_OUT_OF_MEMORY) with ") !=
        std::string::npos);

  // The GPU suite's checker, on the same run: every figure as the job's own.
  std::ofstream(dir.path("job.out")) << run.out;
  std::ofstream(dir.path("job.err")) << run.err;
  run_vramscope({"report", dir.path("t.vstrace"), "--json", dir.path("t.json")});
  ProcessResult checked = run_process({python(), kSource + "/tests/gpu/check_torch_job.py",
                                       dir.path("job.out"), dir.path("job.err"), dir.path("t.json")});
  INFO("checker: " << checked.out << checked.err);
  CHECK(checked.exit_status == 0);
  CHECK(checked.out.find("PASS  b. out-of-memory request: ours 1048576.00 GiB, PyTorch's 1048576.00 GiB") !=
        std::string::npos);
  size_t passes = 0;
  for (size_t at = checked.out.find("PASS"); at != std::string::npos; at = checked.out.find("PASS", at + 1))
    ++passes;
  CHECK(passes == 7);
}

TEST_CASE(
    "PyTorch job: the job's own sitecustomize still runs, and VRAMSCOPE_FRAMEWORKS=0 turns the hook off") {
  if (on_real_gpu()) return;
  ScratchDir dir("torch-site");
  {
    std::ofstream site(dir.path("sitecustomize.py"));
    site << "import sys\nprint('the job\\'s own sitecustomize ran', file=sys.stderr)\n";
  }
  ProcessOptions options = with_simtorch(dir.dir());
  ProcessResult run = run_vramscope(
      {"run", "--simulate=4GiB", "-o", dir.path("t.vstrace"), "--", python(), kJob, "--no-oom"}, options);
  INFO("stderr: " << run.err);
  REQUIRE(run.exit_status == 0);
  CHECK(run.err.find("the job's own sitecustomize ran") != std::string::npos);
  CHECK(run.err.find("66 tensor blocks merged") != std::string::npos);

  options.set_env["VRAMSCOPE_FRAMEWORKS"] = "0";
  ProcessResult off = run_vramscope(
      {"run", "--simulate=4GiB", "-o", dir.path("off.vstrace"), "--", python(), kJob, "--no-oom"}, options);
  REQUIRE(off.exit_status == 0);
  CHECK(off.err.find("the job's own sitecustomize ran") != std::string::npos);
  CHECK(off.err.find("merged") == std::string::npos);
  json r = report_json(dir.path("off.vstrace"));
  CHECK(kind(r, "device")["allocations"] == 6);
  for (const json& k : r["kinds"]) CHECK(k["kind"] != "tensor block");
}

TEST_CASE("run --per-buffer: the frameworks' allocators make one driver allocation per tensor") {
  ScratchDir dir("per-buffer");
  const std::string show =
      "import os\nfor v in ('PYTORCH_CUDA_ALLOC_CONF', 'XLA_PYTHON_CLIENT_ALLOCATOR', 'TF_GPU_ALLOCATOR'):\n"
      "    print(v, os.environ.get(v))\n";
  ProcessResult run = run_vramscope(
      {"run", "-q", "--simulate", "--per-buffer", "-o", dir.path("t.vstrace"), "--", python(), "-c", show});
  REQUIRE(run.exit_status == 0);
  CHECK(run.out ==
        "PYTORCH_CUDA_ALLOC_CONF backend:cudaMallocAsync\nXLA_PYTHON_CLIENT_ALLOCATOR platform\n"
        "TF_GPU_ALLOCATOR cuda_malloc_async\n");
  // The user's own settings stay; a backend of their choosing is kept.
  ProcessOptions options;
  options.set_env["PYTORCH_CUDA_ALLOC_CONF"] = "expandable_segments:True";
  options.set_env["TF_GPU_ALLOCATOR"] = "bfc";
  run = run_vramscope(
      {"run", "-q", "--simulate", "--per-buffer", "-o", dir.path("u.vstrace"), "--", python(), "-c", show},
      options);
  CHECK(run.out ==
        "PYTORCH_CUDA_ALLOC_CONF backend:cudaMallocAsync,expandable_segments:True\n"
        "XLA_PYTHON_CLIENT_ALLOCATOR platform\nTF_GPU_ALLOCATOR bfc\n");
  options.set_env["PYTORCH_CUDA_ALLOC_CONF"] = "backend:native";
  run = run_vramscope(
      {"run", "-q", "--simulate", "--per-buffer", "-o", dir.path("v.vstrace"), "--", python(), "-c", show},
      options);
  CHECK(run.out.starts_with("PYTORCH_CUDA_ALLOC_CONF backend:native\n"));
}

namespace {

// The stack's Python frames, innermost first, as "function:line".
std::vector<std::string> python_frames(const json& stack) {
  std::vector<std::string> frames;
  for (const json& frame : stack) {
    if (std::string(frame["file"]).ends_with(".py"))
      frames.push_back(std::string(frame["function"]) + ":" + std::to_string(frame["line"].get<int>()));
  }
  return frames;
}

}  // namespace

TEST_CASE(
    "run --python-stacks: a ctypes job's driver events carry the Python lines that asked, in every thread") {
  if (on_real_gpu()) return;  // the job loads simcuda's runtime by name; its frames are checked below
  ScratchDir dir("python-stacks");
  const std::string job = kSource + "/samples/ctypes_alloc.py";
  std::vector<std::string> command = {python(), job};
  ProcessResult run = run_profiled(dir.path("t.vstrace"), command, {"--python-stacks"});
  check_output_unchanged(command, run);
  json r = report_json(dir.path("t.vstrace"));
  CHECK(r["counts"]["allocations"] == 5);
  CHECK(r["leaks"]["bytes"] == 5 * MiB);
  REQUIRE(r["leaks"]["groups"].size() == 2);
  const json& buffers = r["leaks"]["groups"][0];
  CHECK(buffers["bytes"] == 3 * MiB);
  CHECK(buffers["file"] == job);
  CHECK(buffers["line"] == 19);
  CHECK(python_frames(buffers["stack"]) ==
        std::vector<std::string>{"allocate:19", "make_buffers:26", "main:41", "<module>:51"});
  // The thread's own frames: it started after the profile function was set.
  const json& in_thread = r["leaks"]["groups"][1];
  CHECK(in_thread["bytes"] == 2 * MiB);
  CHECK(python_frames(in_thread["stack"]) == std::vector<std::string>{"allocate:19", "worker:30"});
  // The native frames inside the interpreter stay, under the Python ones.
  CHECK(std::string(buffers["stack"][0]["file"]).ends_with("rt_memory.cpp"));

  // Without the option: native frames only, no line of the script.
  ProcessResult plain = run_profiled(dir.path("n.vstrace"), command);
  json n = report_json(dir.path("n.vstrace"));
  REQUIRE(n["leaks"]["groups"].size() >= 1);
  for (const json& group : n["leaks"]["groups"]) CHECK(python_frames(group["stack"]).empty());
}
