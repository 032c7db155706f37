// OOM root cause and fragmentation on samples with known layouts: the verdict
// and its evidence in exact bytes (docs/report.md, OOM diagnosis).
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "tests/integration/harness.h"

using namespace vramscope::testing;
using nlohmann::json;

namespace {

json only_failure(const std::string& trace) {
  json r = report_json(trace);
  REQUIRE(r["failed_allocations"].size() == 1);
  return r["failed_allocations"][0];
}

bool names(const json& site, const std::string& function) {
  return site["function"].get<std::string>().find(function) != std::string::npos;
}

}  // namespace

TEST_CASE("oom on 1124 MiB: over-subscription by grow_until_full's four chunks") {
  if (on_real_gpu()) return;
  ScratchDir dir("oom-cause");
  run_profiled(dir.path("t.vstrace"), {sample("oom")}, {"--simulate=1124MiB"});
  json f = only_failure(dir.path("t.vstrace"));
  const json& d = f["diagnosis"];
  CHECK(d["verdict"] == "over-subscription");
  CHECK(d["evidence"]["allocated_bytes"] == 1024 * MiB);
  CHECK(d["evidence"]["reserved_bytes"] == 1024 * MiB);
  CHECK(d["evidence"]["outside_process_bytes"] == 0);
  CHECK(d["evidence"]["shortfall_bytes"] == 156 * MiB);
  CHECK(d["evidence"]["total_free_bytes"] == 0);
  REQUIRE(d["sites"].size() == 1);
  CHECK(names(d["sites"][0], "grow_until_full"));
  CHECK(d["sites"][0]["bytes"] == 1024 * MiB);
  CHECK(d["sites"][0]["count"] == 4);
  CHECK(names(d["grew"], "grow_until_full"));
  CHECK(d["grew"]["bytes"] == 1024 * MiB);
  // No block data: each segment is one used block, nothing free inside.
  CHECK(f["fragmentation"]["segments"] == 4);
  CHECK(f["fragmentation"]["metric"] == 0.0);
}

TEST_CASE("oom with 512 MiB held by another process: the verdict says so, with the bytes") {
  if (on_real_gpu()) return;
  ScratchDir dir("oom-cause-other");
  ProcessOptions options;
  options.set_env["VRAMSCOPE_SIM_OTHER_PROCESS"] = "512MiB";
  run_profiled(dir.path("t.vstrace"), {sample("oom")}, {"--simulate=1124MiB"}, options);
  json f = only_failure(dir.path("t.vstrace"));
  const json& d = f["diagnosis"];
  CHECK(d["verdict"] == "another process");
  // 1124 MiB total - 100 MiB free - 512 MiB of our own: simcuda charges 256 MiB exactly.
  CHECK(d["evidence"]["outside_process_bytes"] == 536870912);
  CHECK(d["evidence"]["reserved_bytes"] == 512 * MiB);
  CHECK(d["evidence"]["shortfall_bytes"] == 156 * MiB);
}

TEST_CASE("caching_allocator fragment: fragmentation, 20 MiB free in 4 MiB holes against a 20 MiB segment") {
  if (on_real_gpu()) return;
  ScratchDir dir("oom-cause-fragment");
  run_profiled(dir.path("t.vstrace"), {sample("caching_allocator"), "--workload", "fragment"},
               {"--simulate=40MiB"});
  json r = report_json(dir.path("t.vstrace"));
  REQUIRE(r["failed_allocations"].size() == 1);
  const json& f = r["failed_allocations"][0];
  const json& d = f["diagnosis"];
  CHECK(d["verdict"] == "fragmentation");
  CHECK(f["requested_bytes"] == 20 * MiB);
  CHECK(d["evidence"]["total_free_bytes"] == 20 * MiB);  // ≥ the request
  CHECK(d["evidence"]["largest_free_bytes"] == 4 * MiB);  // < the request
  CHECK(d["evidence"]["allocated_bytes"] == 20 * MiB);
  CHECK(d["evidence"]["reserved_bytes"] == 40 * MiB);
  CHECK(d["evidence"]["outside_process_bytes"] == 0);
  CHECK(d["sites"][0]["bytes"] == 20 * MiB);
  CHECK(d["sites"][0]["count"] == 5);
  const json& frag = f["fragmentation"];
  CHECK(frag["segments"] == 2);
  CHECK(frag["reserved_but_unallocated_bytes"] == 20 * MiB);
  CHECK(frag["metric"] == doctest::Approx(0.8));  // 1 - 4/20
  // The worst moment is the same five holes; at the peak (the second segment,
  // just registered) one 20 MiB hole: no fragmentation.
  const json& device = r["devices"][0]["fragmentation"];
  CHECK(device["has_block_data"] == true);
  CHECK(device["worst"]["metric"] == doctest::Approx(0.8));
  CHECK(device["worst"]["largest_free_bytes"] == 4 * MiB);
  CHECK(device["at_peak"]["total_free_bytes"] == 20 * MiB);
  CHECK(device["at_peak"]["largest_free_bytes"] == 20 * MiB);
  CHECK(device["at_peak"]["metric"] == 0.0);
}

TEST_CASE("train_mlp --allocator caching: fragmentation at the peak and at its worst") {
  ScratchDir dir("frag-mlp");
  run_profiled(dir.path("t.vstrace"), {sample("train_mlp"), "--allocator", "caching"});
  json r = report_json(dir.path("t.vstrace"));
  const json& f = r["devices"][0]["fragmentation"];
  CHECK(f["has_block_data"] == true);
  // The peak is the fifth segment (a 20 MiB one), registered and still empty:
  // 85983232 bytes in 5 segments, 62971904 of them in blocks, the new segment
  // the largest hole and 2039808 bytes free in the others.
  const json& peak = f["at_peak"];
  CHECK(peak["segments"] == 5);
  CHECK(peak["segment_bytes"] == 85983232);
  CHECK(peak["block_bytes"] == 62971904);
  CHECK(peak["total_free_bytes"] == 23011328);
  CHECK(peak["largest_free_bytes"] == 20 * MiB);
  CHECK(peak["reserved_but_unallocated_bytes"] == 23011328);
  CHECK(peak["metric"] == doctest::Approx(1.0 - 20971520.0 / 23011328.0));
  // The worst: every block returned while all 5 segments stay cached, each
  // segment one hole: 1 - 20 MiB / 82 MiB.
  const json& worst = f["worst"];
  CHECK(worst["block_bytes"] == 0);
  CHECK(worst["total_free_bytes"] == 85983232);
  CHECK(worst["largest_free_bytes"] == 20 * MiB);
  CHECK(worst["metric"] == doctest::Approx(1.0 - 20.0 / 82.0));
}
