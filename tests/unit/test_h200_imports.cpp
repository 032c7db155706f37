// A snapshot and a profiler trace made by PyTorch 2.11 on an NVIDIA H200
// (tests/data/interop/h200/make_them.py), read by the importers: the figures
// match PyTorch's own counters at the moment of the dump (facts.json).
#include <doctest/doctest.h>

#include <string>

#include "analyzer/analysis.h"
#include "formats/kineto_import.h"
#include "formats/snapshot_import.h"

using namespace vramscope;
using trace::MemoryKind;

namespace {

std::string h200(const std::string& name) {
  return std::string(VRAMSCOPE_SOURCE_DIR) + "/tests/data/interop/h200/" + name;
}

const analysis::KindTotals& totals(const analysis::Report& r, MemoryKind kind) {
  for (const analysis::KindTotals& k : r.kinds) {
    if (k.kind == kind) return k;
  }
  FAIL("no such kind");
  return r.kinds.front();
}

// torch.cuda.memory_reserved(), memory_allocated(), max_memory_reserved() and
// max_memory_allocated() when the snapshot was dumped (facts.json).
constexpr uint64_t kReserved = 769'654'784;
constexpr uint64_t kAllocated = 471'007'232;
constexpr uint64_t kMaxAllocated = 743'768'576;

}  // namespace

TEST_CASE("H200 snapshot: reserved and allocated as PyTorch counted them") {
  analysis::Report r =
      analysis::analyze_trace(trace::import_pytorch_snapshot(h200("torch_adam_snapshot.pickle")));
  const analysis::KindTotals& segments = totals(r, MemoryKind::Device);
  CHECK(segments.live_at_exit_bytes == kReserved);
  CHECK(segments.peak_bytes == kReserved);  // max_memory_reserved: the cache never shrank
  CHECK(segments.live_at_exit_count == 44);
  const analysis::KindTotals& blocks = totals(r, MemoryKind::Block);
  CHECK(blocks.live_at_exit_bytes == kAllocated);
  // The trace's entries give requested sizes and PyTorch counts whole blocks:
  // at the peak, 508 bytes of rounding on blocks freed before the snapshot go
  // uncounted (see docs/import.md).
  CHECK(blocks.peak_bytes == kMaxAllocated - 508);
  // The largest site at the peak is the user's optimizer step (Adam's state), not PyTorch's frames.
  REQUIRE(!r.devices[0].peak.sites.empty());
  CHECK(r.devices[0].peak.sites[0].site.function == "step");
  CHECK(r.devices[0].peak.sites[0].site.line == 15);
}

TEST_CASE("H200 torch.profiler trace: allocated and reserved as PyTorch counted them") {
  analysis::Report r =
      analysis::analyze_trace(trace::import_kineto_trace(h200("torch_adam_profile.pt.trace.json.gz")));
  REQUIRE(r.devices.size() == 1);
  CHECK(r.devices[0].name == "NVIDIA H200");
  CHECK(r.devices[0].peak.bytes == kReserved);
  CHECK(totals(r, MemoryKind::Block).peak_bytes == kMaxAllocated);  // Kineto's events carry whole blocks
  CHECK(r.iterations.list.size() == 3);
}
