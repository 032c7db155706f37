// Tensor-level events through the NVTX memory API: the caching allocator
// sample and train_mlp's caching mode under `vramscope run`, whose injector is
// the NVTX tool. Exact blocks, segments, ranges and marks.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "formats/trace_reader.h"
#include "tests/integration/harness.h"

using namespace vramscope::testing;
using namespace vramscope;
using nlohmann::json;

namespace {

void check_kind(const json& report, const std::string& name, uint64_t allocations, uint64_t frees,
                uint64_t allocated_bytes, uint64_t peak_bytes) {
  json k = kind(report, name);
  INFO("kind " << name);
  CHECK(k["allocations"] == allocations);
  CHECK(k["frees"] == frees);
  CHECK(k["allocated_bytes"] == allocated_bytes);
  CHECK(k["peak_bytes"] == peak_bytes);
  CHECK(k["live_at_exit_bytes"] == 0);
}

int count_named(const trace::TraceContents& t, trace::EventType type, const std::string& name) {
  int n = 0;
  for (const trace::Event& e : t.events.collect()) {
    if (e.type == type && e.name.value < t.strings.size() && t.strings[e.name.value] == name) ++n;
  }
  return n;
}

int count_type(const trace::TraceContents& t, trace::EventType type) {
  int n = 0;
  for (const trace::Event& e : t.events.collect()) n += e.type == type;
  return n;
}

}  // namespace

TEST_CASE("caching_allocator steps: tensor blocks from NVTX, segments from the driver, ranges and marks") {
  ScratchDir dir("nvtx-steps");
  std::vector<std::string> command = {sample("caching_allocator"), "--workload", "steps", "--steps", "3"};
  ProcessResult run = run_profiled(dir.path("t.vstrace"), command);
  check_output_unchanged(command, run);
  json r = report_json(dir.path("t.vstrace"));
  // Blocks: 8 + 9N = 35; 12615680 + 14155776N bytes; peak 25985024. The 8
  // parameters end at the heap resets of release_all().
  check_kind(r, "tensor block", 35, 35, 55083008, 25985024);
  // Segments: 20 MiB + 20 MiB + 2 MiB, made in step 1 and kept to the end.
  check_kind(r, "device", 3, 3, 44040192, 44040192);
  check_kind(r, "allocator heap", 3, 3, 44040192, 44040192);
  // Blocks sit inside segments: the device's peak counts the segments only.
  CHECK(r["devices"][0]["peak"]["bytes"] == 44040192);
  CHECK(r["counts"]["unmatched_frees"] == 0);
  CHECK(r["counts"]["markers"] == 3);
  CHECK(r["leaks"]["bytes"] == 0);
  CHECK(find_by(r["apis"], "api", "nvtxMemRegionsRegister")["count"] == 35);
  CHECK(find_by(r["apis"], "api", "nvtxMemRegionsUnregister")["count"] == 27);
  CHECK(find_by(r["apis"], "api", "nvtxMemHeapReset")["count"] == 8);

  trace::TraceContents t = trace::read_trace_file(dir.path("t.vstrace"));
  CHECK(count_named(t, trace::EventType::RangePush, "step") == 3);
  CHECK(count_type(t, trace::EventType::RangePop) == 3);
  CHECK(count_named(t, trace::EventType::Marker, "optimizer step") == 3);
}

TEST_CASE("train_mlp --allocator caching: the same tensor peak as cudaMalloc per tensor, more reserved") {
  ScratchDir dir("nvtx-mlp");
  std::vector<std::string> command = {sample("train_mlp"), "--allocator", "caching"};
  ProcessResult run = run_profiled(dir.path("t.vstrace"), command);
  check_output_unchanged(command, run);
  // The direct run prints the same: only where the bytes come from changes.
  CHECK(run.out == run_plain({sample("train_mlp")}).out);
  json r = report_json(dir.path("t.vstrace"));
  // The 59 tensors of the default run, as blocks: peak (2 + 2)P + 6A.
  check_kind(r, "tensor block", 59, 59, 74252288, 68747264);
  // 16 tensors of 4 MiB in 20 MiB segments (5 each: 4 segments), every small
  // tensor (16 of 4 KiB, at most 6 of 256 KiB) in one 2 MiB segment.
  check_kind(r, "device", 5, 5, 4 * 20 * MiB + 2 * MiB, 4 * 20 * MiB + 2 * MiB);
  CHECK(r["devices"][0]["peak"]["bytes"] == 85983232);
  CHECK(r["counts"]["unmatched_frees"] == 0);

  trace::TraceContents t = trace::read_trace_file(dir.path("t.vstrace"));
  CHECK(count_named(t, trace::EventType::RangePush, "step") == 3);
  CHECK(count_type(t, trace::EventType::RangePop) == 3);
}

TEST_CASE("train_mlp's default run marks its steps and keeps its figures") {
  ScratchDir dir("nvtx-mlp-direct");
  run_profiled(dir.path("t.vstrace"), {sample("train_mlp")});
  json r = report_json(dir.path("t.vstrace"));
  CHECK(r["devices"][0]["peak"]["bytes"] == 68747264);
  CHECK(find_by(r["kinds"], "kind", "tensor block").is_null());
  trace::TraceContents t = trace::read_trace_file(dir.path("t.vstrace"));
  CHECK(count_named(t, trace::EventType::RangePush, "step") == 3);
}

TEST_CASE("caching_allocator fragment: enough cached free bytes, no hole big enough, a new segment fails") {
  if (on_real_gpu()) return;  // needs simcuda's capacity setting
  ScratchDir dir("nvtx-fragment");
  std::vector<std::string> command = {sample("caching_allocator"), "--workload", "fragment"};
  ProcessOptions options;
  options.set_env["VRAMSCOPE_SIM_CAPACITY"] = "40MiB";
  ProcessResult run = run_profiled(dir.path("t.vstrace"), command, {"--simulate=40MiB"});
  check_output_unchanged(command, run, options);
  CHECK(run.out.find("out of memory: cudaErrorMemoryAllocation") != std::string::npos);
  json r = report_json(dir.path("t.vstrace"));
  REQUIRE(r["failed_allocations"].size() == 1);
  const json& failure = r["failed_allocations"][0];
  CHECK(failure["requested_bytes"] == 20 * MiB);  // the segment for an 8 MiB request
  CHECK(failure["error_name"] == "CUDA_ERROR_OUT_OF_MEMORY");
  CHECK(failure["free_bytes"] == 0);
  CHECK(failure["live_bytes"] == 40 * MiB);
  check_kind(r, "tensor block", 10, 10, 40 * MiB, 40 * MiB);
  check_kind(r, "device", 2, 2, 40 * MiB, 40 * MiB);

  // At the failure: 40 MiB of segments, 20 MiB of them in live blocks, so
  // 20 MiB cached free (five 4 MiB holes) against an 8 MiB request.
  trace::TraceContents t = trace::read_trace_file(dir.path("t.vstrace"));
  int64_t segments = 0, blocks = 0;
  uint64_t largest_block = 0;
  bool failed = false;
  for (const trace::Event& e : t.events.collect()) {
    if (e.type == trace::EventType::FailedAlloc) {
      failed = true;
      break;
    }
    int64_t sign = e.type == trace::EventType::Alloc ? 1 : e.type == trace::EventType::Free ? -1 : 0;
    int64_t bytes = sign * static_cast<int64_t>(e.size);
    if (e.kind == trace::MemoryKind::Device) segments += bytes;
    if (e.kind == trace::MemoryKind::Block) blocks += bytes;
    if (e.kind == trace::MemoryKind::Block && sign > 0) largest_block = std::max(largest_block, e.size);
  }
  REQUIRE(failed);
  CHECK(segments == static_cast<int64_t>(40 * MiB));
  CHECK(blocks == static_cast<int64_t>(20 * MiB));
  CHECK(segments - blocks >= static_cast<int64_t>(8 * MiB));
  CHECK(largest_block == 4 * MiB);
}
