// The PyTorch snapshot importer on real snapshots (tests/data/interop): the
// reserved and allocated bytes it rebuilds, to the byte, in both schemas.
#include <doctest/doctest.h>

#include <string>

#include "analyzer/analysis.h"
#include "formats/snapshot_import.h"

using namespace vramscope;
using trace::MemoryKind;

namespace {

std::string snapshot_path(const std::string& name) {
  return std::string(VRAMSCOPE_SOURCE_DIR) + "/tests/data/interop/pytorch-snapshots/" + name;
}

const analysis::KindTotals* kind_totals(const analysis::Report& r, MemoryKind kind) {
  for (const analysis::KindTotals& k : r.kinds) {
    if (k.kind == kind) return &k;
  }
  return nullptr;
}

struct Figures {
  uint64_t reserved_peak = 0;
  uint64_t reserved_at_end = 0;
  uint64_t segments_at_end = 0;
  uint64_t allocated_peak = 0;
  uint64_t allocated_at_end = 0;
};

Figures figures_of(const analysis::Report& r) {
  Figures f;
  if (const analysis::KindTotals* segments = kind_totals(r, MemoryKind::Device)) {
    f.reserved_peak = segments->peak_bytes;
    f.reserved_at_end = segments->live_at_exit_bytes;
    f.segments_at_end = segments->live_at_exit_count;
  }
  if (const analysis::KindTotals* blocks = kind_totals(r, MemoryKind::Block)) {
    f.allocated_peak = blocks->peak_bytes;
    f.allocated_at_end = blocks->live_at_exit_bytes;
  }
  return f;
}

}  // namespace

TEST_CASE("snapshot import: a 2023-schema snapshot taken at an OOM") {
  trace::TraceContents t = trace::import_pytorch_snapshot(snapshot_path("flexgen_oom_snapshot.pickle"));
  CHECK(t.cut_short);
  REQUIRE(t.devices.size() == 1);
  CHECK(t.devices[0].ordinal == 0);
  analysis::Report r = analysis::analyze_trace(t);
  Figures f = figures_of(r);
  CHECK(f.reserved_at_end == 11'844'714'496);
  CHECK(f.reserved_peak == 11'844'714'496);
  CHECK(f.segments_at_end == 176);
  CHECK(f.allocated_at_end == 11'840'159'744);
  CHECK(f.allocated_peak == 11'840'159'744);
  CHECK(r.counts.unmatched_frees == 0);
  CHECK(r.counts.missing_frees == 0);
  // The fragmentation map at the snapshot: its 3 inactive runs of blocks are the holes.
  REQUIRE(r.devices[0].fragmentation.at_end);
  const analysis::FragmentationReport& at_end = *r.devices[0].fragmentation.at_end;
  CHECK(at_end.segments == 176);
  CHECK(at_end.segment_bytes == 11'844'714'496);
  CHECK(at_end.block_bytes == 11'840'159'744);
  CHECK(at_end.total_free_bytes == 4'554'752);
  CHECK(at_end.largest_free_bytes == 2'080'768);
  // Blocks carry their history's stacks: FlexGen's weight allocation holds the most.
  REQUIRE(!r.leaks.groups.empty());
}

TEST_CASE("snapshot import: a current-schema snapshot recorded from the start") {
  trace::TraceContents t = trace::import_pytorch_snapshot(snapshot_path("decomfl_memory.pickle"));
  analysis::Report r = analysis::analyze_trace(t);
  Figures f = figures_of(r);
  // The 61 segment_alloc entries are the whole reserved total at the end.
  CHECK(f.reserved_at_end == 1'897'922'560);
  CHECK(f.segments_at_end == 61);
  CHECK(f.allocated_at_end == 1'014'430'208);
  CHECK(f.allocated_peak == 1'786'608'896);
  CHECK(r.counts.unmatched_frees == 0);
  CHECK(r.counts.missing_frees == 0);
  // 7,946 allocs and 7,549 completed frees in the window, 61 segments.
  const analysis::KindTotals* blocks = kind_totals(r, MemoryKind::Block);
  REQUIRE(blocks != nullptr);
  CHECK(blocks->frees == 7'549);
  // Its 8 annotations nest: 4 ranges (zero_grad and the data loader, twice each).
  int pushes = 0, pops = 0;
  t.events.for_each([&](size_t, const trace::Event& e) {
    pushes += e.type == trace::EventType::RangePush;
    pops += e.type == trace::EventType::RangePop;
  });
  CHECK(pushes == 4);
  CHECK(pops == 4);
}

TEST_CASE("snapshot import: a window that starts mid-run") {
  trace::TraceContents t = trace::import_pytorch_snapshot(snapshot_path("cs336_medium_512_training.pickle"));
  analysis::Report r = analysis::analyze_trace(t);
  Figures f = figures_of(r);
  CHECK(f.reserved_at_end == 12'660'506'624);
  CHECK(f.segments_at_end == 400);
  CHECK(f.allocated_at_end == 6'838'108'672);
  // The end state minus the window's net change, plus its highest running total.
  CHECK(f.allocated_peak == 12'435'476'996);
}

TEST_CASE("snapshot import: a 2023-schema snapshot with one trace entry") {
  trace::TraceContents t = trace::import_pytorch_snapshot(snapshot_path("flexgen_1.3b_snapshot.pickle"));
  analysis::Report r = analysis::analyze_trace(t);
  Figures f = figures_of(r);
  CHECK(f.segments_at_end == 257);
  CHECK(r.counts.unmatched_frees == 0);
}

TEST_CASE("snapshot import: what is not a snapshot") {
  CHECK_THROWS_WITH_AS(trace::import_pytorch_snapshot(std::string(VRAMSCOPE_SOURCE_DIR) + "/no/such.pickle"),
                       doctest::Contains("no/such.pickle"), trace::TraceError);
  CHECK_THROWS_AS(trace::import_pytorch_snapshot(std::string(VRAMSCOPE_SOURCE_DIR) +
                                                 "/tests/data/h200-torch-expandable.vstrace"),
                  trace::TraceError);
}
