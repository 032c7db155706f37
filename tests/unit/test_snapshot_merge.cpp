// A PyTorch snapshot merged into the driver-level trace of the same job: the
// clocks tied by the segments, the blocks' bytes to the byte. The job is a
// real one (tests/data/interop's decomfl_memory.pickle); its driver-level
// trace is what the injector would have recorded of it: each segment the
// allocator made, by cudaMalloc, a little before the allocator's entry.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <string>

#include "analyzer/analysis.h"
#include "formats/snapshot_import.h"
#include "formats/snapshot_merge.h"
#include "formats/trace_contents_writer.h"

using namespace vramscope;
using trace::Event;
using trace::EventType;
using trace::MemoryKind;

namespace {

constexpr uint64_t kSecond = 1'000'000'000;

trace::TraceContents decomfl() {
  return trace::import_pytorch_snapshot(std::string(VRAMSCOPE_SOURCE_DIR) +
                                        "/tests/data/interop/pytorch-snapshots/decomfl_memory.pickle");
}

// The driver's record of the snapshot's segments: the trace began `lead_ns`
// before the snapshot's first entry, and each cudaMalloc returned `early_ns`
// before the allocator wrote its entry (all but every fourth, `late_ns`;
// negative: after it, as a thread held up between the two would see it).
trace::TraceContents driver_trace(const trace::TraceContents& snapshot, uint64_t lead_ns, int64_t early_ns,
                                  int64_t late_ns) {
  trace::TraceContents t;
  t.source = "driver.vstrace";
  t.header.start_unix_ns = snapshot.header.start_unix_ns - lead_ns;
  t.header.pid = 4242;
  t.devices = {trace::DeviceInfo{0, "H100", 80 * (uint64_t{1} << 30), false}};
  t.header.devices = t.devices;
  t.strings.emplace_back();
  t.frames.emplace_back();
  t.stack_nodes.emplace_back();
  std::vector<Event> events;
  size_t made = 0;
  for (const Event& e : snapshot.events.collect()) {
    if (e.type != EventType::Alloc || e.kind != MemoryKind::Device) continue;
    Event segment = e;
    segment.stack = {};
    segment.time_ns = e.time_ns + lead_ns - static_cast<uint64_t>(made++ % 4 == 3 ? late_ns : early_ns);
    events.push_back(segment);
  }
  t.events = trace::EventLog(std::move(events));
  t.end = trace::End{t.header.start_ns + 100 * kSecond, trace::EndReason::Exit, 0, 0};
  return t;
}

uint64_t peak_of(const analysis::Report& r, MemoryKind kind) {
  for (const analysis::KindTotals& k : r.kinds) {
    if (k.kind == kind) return k.peak_bytes;
  }
  return 0;
}

// The merged trace's block allocations that lie in no segment live at their time.
size_t blocks_outside_segments(const trace::TraceContents& t) {
  std::map<uint64_t, uint64_t> segments;  // address, end
  size_t outside = 0;
  t.events.for_each([&](size_t, const Event& e) {
    if (e.kind == MemoryKind::Device && e.type == EventType::Alloc) segments[e.address] = e.address + e.size;
    if (e.kind == MemoryKind::Device && e.type == EventType::Free) segments.erase(e.address);
    if (e.kind != MemoryKind::Block || e.type != EventType::Alloc) return;
    auto after = segments.upper_bound(e.address);
    outside += after == segments.begin() || e.address >= std::prev(after)->second;
  });
  return outside;
}

}  // namespace

TEST_CASE("snapshot merge: the segments tie the clocks, the blocks come in whole") {
  trace::TraceContents snapshot = decomfl();
  trace::TraceContents driver = driver_trace(snapshot, 5 * kSecond, 3'000, 40'000);
  trace::SnapshotMerge merge = trace::merge_snapshot(driver, snapshot);
  // 61 segment_alloc entries; the first is the window's first entry, at its origin.
  CHECK(merge.segments_in_window == 60);
  CHECK(merge.segments_matched == 60);
  // The median gap: three in four cudaMallocs returned 3 µs before their entry.
  CHECK(merge.shift_ns == static_cast<int64_t>(5 * kSecond - 3'000));
  // Its 7,946 alloc entries, and the importer's block for the bytes the
  // allocator rounded up on the blocks live at the snapshot (docs/import.md).
  CHECK(merge.blocks == 7'947);
  CHECK(merge.out_of_memory == 0);
  // Each driver segment takes the Python stack of the allocation that made the allocator take it.
  CHECK(merge.segments_with_python_stacks == 61);
  // The importer's block for the rounded-up bytes alone lies in no segment.
  CHECK(blocks_outside_segments(merge.trace) == 1);

  analysis::Report r = analysis::analyze_trace(merge.trace);
  CHECK(peak_of(r, MemoryKind::Device) == 1'897'922'560);  // the driver's segments, once
  CHECK(peak_of(r, MemoryKind::Block) == 1'786'608'896);   // PyTorch's allocated peak
  CHECK(r.counts.unmatched_frees == 0);
  CHECK(r.counts.missing_frees == 0);
  // Every block is inside a segment the driver had made by then.
  REQUIRE(r.devices.size() == 1);
  REQUIRE(r.devices[0].fragmentation.at_end);
  CHECK(r.devices[0].fragmentation.at_end->segment_bytes == 1'897'922'560);
  // 1,014,430,208 allocated at the end, less the 2,944,380 rounded-up bytes, which sit in no segment.
  CHECK(r.devices[0].fragmentation.at_end->block_bytes == 1'011'485'828);

  // As `vramscope run` leaves it: written, read back, the same figures.
  const std::string path = "/tmp/vramscope-merge-test." + std::to_string(getpid()) + ".vstrace";
  trace::write_trace_file(merge.trace, path);
  analysis::Report again = analysis::analyze_trace_file(path);
  std::remove(path.c_str());
  CHECK(peak_of(again, MemoryKind::Block) == 1'786'608'896);
  CHECK(peak_of(again, MemoryKind::Device) == 1'897'922'560);
  CHECK(again.leaks.bytes == r.leaks.bytes);
}

TEST_CASE(
    "snapshot merge: a segment the driver made after the shift would place its blocks still holds them") {
  trace::TraceContents snapshot = decomfl();
  // Every fourth cudaMalloc is stamped 50 µs after the allocator's entry.
  trace::TraceContents driver = driver_trace(snapshot, 5 * kSecond, 3'000, -50'000);
  trace::SnapshotMerge merge = trace::merge_snapshot(driver, snapshot);
  CHECK(merge.segments_matched == 60);
  CHECK(merge.shift_ns == static_cast<int64_t>(5 * kSecond - 3'000));
  CHECK(blocks_outside_segments(merge.trace) == 1);
  analysis::Report r = analysis::analyze_trace(merge.trace);
  CHECK(peak_of(r, MemoryKind::Block) == 1'786'608'896);
  REQUIRE(r.devices.size() == 1);
  REQUIRE(r.devices[0].fragmentation.at_end);
  CHECK(r.devices[0].fragmentation.at_end->block_bytes == 1'011'485'828);
}

TEST_CASE("snapshot merge: with no segment to tie them, the wall clocks place the snapshot") {
  trace::TraceContents snapshot = decomfl();
  trace::TraceContents driver = driver_trace(snapshot, 2 * kSecond, 0, 0);
  // The driver saw other segments than the snapshot's: none ties.
  std::vector<Event> moved = driver.events.collect();
  for (Event& e : moved) e.address += 4096;
  driver.events = trace::EventLog(std::move(moved));
  trace::SnapshotMerge merge = trace::merge_snapshot(driver, snapshot);
  CHECK(merge.segments_matched == 0);
  CHECK(merge.shift_ns == static_cast<int64_t>(2 * kSecond));
}
