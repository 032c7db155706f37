// The PyTorch snapshot export read back through the importer: the same
// segments, blocks, peaks and stacks as the trace it was made from.
#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

#include "analyzer/analysis.h"
#include "analyzer/export_snapshot.h"
#include "formats/pickle.h"
#include "formats/snapshot_import.h"
#include "trace_builder.h"

using namespace vramscope;
using trace::MemoryKind;
using vramscope::testing::TraceBuilder;

namespace {

trace::TraceContents round_trip(const trace::TraceContents& trace) {
  std::ostringstream out;
  analysis::write_pytorch_snapshot(trace, out);
  std::string bytes = out.str();
  pickle::Document doc = pickle::Document::read(std::vector<uint8_t>(bytes.begin(), bytes.end()), "exported");
  return trace::import_pytorch_snapshot(doc, "exported");
}

const analysis::KindTotals& kind_totals(const analysis::Report& r, MemoryKind kind) {
  for (const analysis::KindTotals& k : r.kinds) {
    if (k.kind == kind) return k;
  }
  FAIL("no such kind in the report");
  return r.kinds.front();
}

void check_same_memory(const analysis::Report& a, const analysis::Report& b) {
  for (MemoryKind kind : {MemoryKind::Device, MemoryKind::Block}) {
    INFO("kind " << trace::to_string(kind));
    const analysis::KindTotals& x = kind_totals(a, kind);
    const analysis::KindTotals& y = kind_totals(b, kind);
    CHECK(x.allocations == y.allocations);
    CHECK(x.frees == y.frees);
    CHECK(x.allocated_bytes == y.allocated_bytes);
    CHECK(x.peak_bytes == y.peak_bytes);
    CHECK(x.live_at_exit_bytes == y.live_at_exit_bytes);
    CHECK(x.live_at_exit_count == y.live_at_exit_count);
  }
  REQUIRE(a.devices.size() == b.devices.size());
  CHECK(a.devices[0].peak.bytes == b.devices[0].peak.bytes);
  CHECK(a.devices[0].peak.time_ns == b.devices[0].peak.time_ns);
  CHECK(a.counts.failed_allocations == b.counts.failed_allocations);
  REQUIRE(a.leaks.groups.size() == b.leaks.groups.size());
  for (size_t i = 0; i < a.leaks.groups.size(); ++i) {
    CHECK(a.leaks.groups[i].bytes == b.leaks.groups[i].bytes);
    CHECK(a.leaks.groups[i].site.function == b.leaks.groups[i].site.function);
    CHECK(a.leaks.groups[i].site.line == b.leaks.groups[i].site.line);
  }
}

}  // namespace

TEST_CASE("snapshot export: an imported snapshot reads back identical") {
  for (const char* name :
       {"decomfl_memory.pickle", "cs336_bcrafton_memory_snapshot.pickle", "flexgen_oom_snapshot.pickle"}) {
    INFO(name);
    trace::TraceContents original = trace::import_pytorch_snapshot(
        std::string(VRAMSCOPE_SOURCE_DIR) + "/tests/data/interop/pytorch-snapshots/" + name);
    trace::TraceContents again = round_trip(original);
    CHECK(again.events.count() == original.events.count());
    check_same_memory(analysis::analyze_trace(original), analysis::analyze_trace(again));
  }
}

TEST_CASE("snapshot export: without tensor blocks each segment is its own block") {
  TraceBuilder b;
  auto weights = b.stack({{"main", "train.py", 3}, {"build", "model.py", 12}});
  auto scratch = b.stack({{"main", "train.py", 4}, {"step", "train.py", 40}});
  b.alloc(1'000, 0x10000, 4 << 20, weights);
  b.alloc(2'000, 0x800000, 2 << 20, scratch);
  b.free(3'000, 0x800000);
  b.alloc(4'000, 0x800000, 1 << 20, scratch);
  trace::Event& oom = b.add(trace::EventType::FailedAlloc, 5'000);
  oom.size = 64 << 20;
  oom.free_bytes = 3 << 20;
  b.trace.devices.push_back(trace::DeviceInfo{0, "GPU", 80ull << 30, false});

  trace::TraceContents again = round_trip(b.trace);
  analysis::Report r = analysis::analyze_trace(again);
  const analysis::KindTotals& segments = kind_totals(r, MemoryKind::Device);
  CHECK(segments.allocations == 3);
  CHECK(segments.frees == 1);
  CHECK(segments.peak_bytes == 6u << 20);
  CHECK(segments.live_at_exit_bytes == 5u << 20);
  const analysis::KindTotals& blocks = kind_totals(r, MemoryKind::Block);
  CHECK(blocks.peak_bytes == 6u << 20);
  CHECK(blocks.live_at_exit_bytes == 5u << 20);
  REQUIRE(r.failed_allocations.size() == 1);
  CHECK(r.failed_allocations[0].requested_bytes == 64u << 20);
  CHECK(r.failed_allocations[0].free_bytes == 3u << 20);
  CHECK(r.failed_allocations[0].time_ns == 4'000);  // times count from the first entry's
  // The stacks come back with their frames: the weights' site is model.py:12.
  REQUIRE(!r.leaks.groups.empty());
  CHECK(r.leaks.groups[0].site.function == "build");
  CHECK(r.leaks.groups[0].site.line == 12);
}

TEST_CASE("snapshot export: a device past 4,095 is refused, not billions of empty lists") {
  // Found by the report fuzzer: the snapshot lists every device ordinal up
  // to the highest, and a damaged trace's device 2^31 took the export past
  // 2 GiB of memory.
  TraceBuilder b;
  b.alloc(1'000, 0x10000, 1 << 20).device = 4095;
  trace::TraceContents again = round_trip(b.trace);
  const analysis::Report r = analysis::analyze_trace(again);
  REQUIRE(r.devices.size() == 1);
  CHECK(r.devices[0].ordinal == 4095);
  CHECK(r.devices[0].peak.bytes == 1 << 20);

  b.alloc(2'000, 0x20000, 1 << 20).device = 0x80000000;
  std::ostringstream out;
  CHECK_THROWS_WITH_AS(analysis::write_pytorch_snapshot(b.trace, out),
                       "a PyTorch snapshot lists every device up to the highest, and this trace has device "
                       "2147483648, past 4095: its device numbers look damaged",
                       std::invalid_argument);
  CHECK(out.str().empty());
}

TEST_CASE("snapshot export: a segment that ends at the top of the address space keeps its blocks") {
  // Its end, start + size, is 2^64 (0 in 64 bits): the export found no
  // block inside it and wrote it with no blocks at all, not even free ones.
  constexpr uint64_t start = UINT64_MAX - (4 << 20) + 1;
  TraceBuilder b;
  b.alloc(1'000, start, 4 << 20);
  b.alloc(2'000, start + (2 << 20), 1 << 20, {}, MemoryKind::Block).stream = start;
  std::ostringstream out;
  analysis::write_pytorch_snapshot(b.trace, out);
  const std::string bytes = out.str();
  const pickle::Document doc =
      pickle::Document::read(std::vector<uint8_t>(bytes.begin(), bytes.end()), "exported");
  const pickle::Value segments = *doc.root().find("segments");
  REQUIRE(segments.size() == 1);
  const pickle::Value blocks = *segments.at(0).find("blocks");
  REQUIRE(blocks.size() == 3);  // free, the block, free: they tile the segment
  const uint64_t sizes[] = {2 << 20, 1 << 20, 1 << 20};
  const char* states[] = {"inactive", "active_allocated", "inactive"};
  for (size_t i = 0; i < 3; ++i) {
    CAPTURE(i);
    CHECK(blocks.at(i).find("size")->as_uint() == sizes[i]);
    CHECK(blocks.at(i).find("state")->as_string() == states[i]);
  }
  CHECK(blocks.at(1).find("address")->as_uint() == start + (2 << 20));
  CHECK(segments.at(0).find("allocated_size")->as_uint() == 1 << 20);
}
