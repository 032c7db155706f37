// The memory map's raster: each cell the colour of the last rectangle over
// it, blocks over their segments, a rectangle narrower than a cell in one cell.
#include <doctest/doctest.h>

#include "analyzer/stack_resolver.h"
#include "analyzer/symbolizer.h"
#include "trace_builder.h"
#include "ui/memory_map.h"

using namespace vramscope::ui;

namespace {

MapRect rect(uint64_t from, uint64_t to, uint64_t packed, uint64_t size, bool block) {
  MapRect r;
  r.from_ns = from;
  r.to_ns = to;
  r.packed = packed;
  r.size = size;
  r.block = block;
  return r;
}

}  // namespace

TEST_CASE("map raster: segments first, blocks over them, every rectangle in a cell at least") {
  MemoryMap map;
  map.packed_bytes = 400;
  map.has_blocks = true;
  // A segment over the whole time and the first half of the addresses; a
  // block in its top quarter for the middle half of the time; a block of one
  // nanosecond and one byte in the last quarter of the addresses.
  map.rects = {rect(0, 100, 0, 200, false), rect(25, 75, 0, 100, true), rect(60, 61, 300, 1, true)};
  const MapRaster raster = rasterize(map, 0, 100, 4, 4, [](const MapRect& r) { return r.block ? 2u : 1u; });
  REQUIRE(raster.cells.size() == 16);
  const std::vector<uint32_t> want = {
      1, 2, 2, 1,  // addresses 0-99: the block from 25 to 75 over its segment
      1, 1, 1, 1,  // 100-199: the segment
      0, 0, 0, 0,  // 200-299: nothing
      0, 0, 2, 0,  // 300-399: the tiny block, at 60 ns
  };
  CHECK(raster.cells == want);
}

TEST_CASE("map raster: without blocks every rectangle is drawn, in order; outside the window none") {
  MemoryMap map;
  map.packed_bytes = 100;
  map.rects = {rect(0, 50, 0, 50, false), rect(50, 100, 0, 50, false), rect(200, 300, 50, 50, false)};
  uint32_t next = 0;
  std::vector<uint32_t> colours = {7, 8, 9};
  const MapRaster raster = rasterize(map, 0, 100, 2, 2, [&](const MapRect&) { return colours[next++]; });
  CHECK(raster.cells == std::vector<uint32_t>{7, 8, 0, 0});
  CHECK(next == 2);  // the third starts after the window: never coloured
}

TEST_CASE("live allocations at a moment: largest first, ties in allocation order, the filter applied") {
  MemoryMap map;
  map.packed_bytes = 1 << 20;
  // Over 1024 rectangles so that a whole run (the first 1024, freed by 10 ns) is skipped.
  for (int i = 0; i < 1024; ++i) map.rects.push_back(rect(0, 10, 0, 1, false));
  map.rects.push_back(rect(5, 100, 0, 300, false));      // 1024
  map.rects.push_back(rect(20, 30, 300, 500, false));    // 1025: freed before 50
  map.rects.push_back(rect(40, 100, 800, 300, true));    // 1026
  map.rects.push_back(rect(45, 100, 1100, 700, false));  // 1027
  MapRect kept = rect(48, 100, 1800, 50, false);         // 1028: live at the end
  kept.freed = false;
  map.rects.push_back(kept);
  map.rects.push_back(rect(60, 70, 2000, 900, false));                // 1029: made after 50
  for (MapRect& r : map.rects) r.freed = r.freed || r.from_ns != 48;  // every other one was freed
  index_runs(map);
  CHECK(map.run_end_ns == std::vector<uint64_t>{10, UINT64_MAX});  // the second holds one never freed
  auto all = [](const MapRect&) { return true; };
  CHECK(live_allocations_at(map, 50, all, 10) == std::vector<size_t>{1027, 1024, 1026, 1028});
  CHECK(live_allocations_at(map, 50, all, 2) == std::vector<size_t>{1027, 1024});
  auto blocks = [](const MapRect& r) { return r.block; };
  CHECK(live_allocations_at(map, 50, blocks, 10) == std::vector<size_t>{1026});
  CHECK(live_allocations_at(map, 5, all, 3) == std::vector<size_t>{1024, 0, 1});  // the first run, live then
  CHECK(live_allocations_at(map, 100, all, 3) ==
        std::vector<size_t>{1028});  // at the end: what was never freed
}

TEST_CASE("live allocations past the map's end: one never freed is live, whichever run it is in") {
  // A damaged trace whose events go on after its end: the map ends at 10 ns,
  // and the last allocation was made at 20. A whole run of never-freed ones
  // before it, each ending at the map's end, is live at 20 too.
  MemoryMap map;
  map.packed_bytes = 1 << 20;
  for (int i = 0; i < 1024; ++i) map.rects.push_back(rect(0, 10, 0, 1, false));
  map.rects.push_back(rect(20, 10, 0, 2, false));
  index_runs(map);
  auto all = [](const MapRect&) { return true; };
  const std::vector<size_t> live = live_allocations_at(map, 20, all, 2000);
  REQUIRE(live.size() == 1025);
  CHECK(live.front() == 1024);  // the largest first
  CHECK(live_at(map.rects[0], 20));
  CHECK_FALSE(live_at(map.rects[1024], 19));  // not yet made
}

TEST_CASE("live at a moment: one made and freed in the same nanosecond is live then, the last one too") {
  MapRect r = rect(50, 50, 0, 1, false);
  r.freed = true;
  CHECK(live_at(r, 50));
  CHECK_FALSE(live_at(r, 49));
  CHECK_FALSE(live_at(r, 51));
  // At the last nanosecond of uint64_t, where the moment after has no number.
  r.from_ns = r.to_ns = UINT64_MAX;
  CHECK(live_at(r, UINT64_MAX));
  CHECK_FALSE(live_at(r, UINT64_MAX - 1));
  MemoryMap map;
  map.packed_bytes = 1;
  map.rects = {r};
  index_runs(map);
  auto all = [](const MapRect&) { return true; };
  CHECK(live_allocations_at(map, UINT64_MAX, all, 10) == std::vector<size_t>{0});
  // One freed later is live until then and not at its end.
  r = rect(10, 20, 0, 1, false);
  r.freed = true;
  CHECK(live_at(r, 19));
  CHECK_FALSE(live_at(r, 20));
}

TEST_CASE("map runs: their ends and starts, and their rows as spans of the rectangle on top") {
  MemoryMap map;
  map.packed_bytes = 1024 * 16;  // 16 bytes a row
  map.has_blocks = true;
  map.rects = {rect(0, 100, 0, 512 * 16, false),         // a segment over rows 0-511
               rect(10, 90, 0, 256 * 16, true),          // a block over rows 0-255, over the segment
               rect(5, 80, 768 * 16, 256 * 16, false)};  // a segment over rows 768-1023, no block in it
  for (MapRect& r : map.rects) r.freed = true;
  index_runs(map);
  REQUIRE(map.run_rows.size() == 1);
  CHECK(map.run_end_ns == std::vector<uint64_t>{100});
  CHECK(map.run_first_end_ns == std::vector<uint64_t>{80});
  CHECK(map.run_last_start_ns == std::vector<uint64_t>{10});
  const std::vector<RowSpan>& rows = map.run_rows[0];
  REQUIRE(rows.size() == 3);
  CHECK((rows[0].first_row == 0 && rows[0].last_row == 255 && rows[0].rect == 1));
  CHECK((rows[1].first_row == 256 && rows[1].last_row == 511 && rows[1].rect == 0));
  CHECK((rows[2].first_row == 768 && rows[2].last_row == 1023 && rows[2].rect == 2));
}

TEST_CASE("map of events out of time order: its rectangles in the order they were made") {
  // Found by the view fuzzer: a damaged trace whose events come out of time
  // order (a thread's chunks that overlap in time). The map's list of what
  // is live at a moment looks its allocations up by time, and missed those
  // made earlier than ones before them.
  vramscope::testing::TraceBuilder b;
  b.alloc(100, 0x100000, 1 << 20);
  b.alloc(300, 0x200000, 2 << 20);
  b.alloc(200, 0x400000, 4 << 20);  // made before the one above it
  vramscope::analysis::Symbolizer symbolizer(b.trace.modules);
  vramscope::analysis::StackResolver stacks(b.trace, symbolizer);
  const MemoryMap map = collect_memory_map(b.trace, 0, 400, stacks, TensorCategories{});
  REQUIRE(map.rects.size() == 3);
  CHECK(map.rects[0].from_ns == 100);
  CHECK(map.rects[1].from_ns == 200);
  CHECK(map.rects[1].size == 4 << 20);
  CHECK(map.rects[2].from_ns == 300);
  auto all = [](const MapRect&) { return true; };
  CHECK(live_allocations_at(map, 250, all, 10) == std::vector<size_t>{1, 0});  // 4 MiB, then 1 MiB
  CHECK(map.live_at_end_ns == std::vector<uint64_t>{100, 200, 300});
}

TEST_CASE("map of an allocation that runs past the top of the address space: cut at it") {
  // Found by the view fuzzer: an allocation of 2^63 bytes near the top made
  // its end wrap past 2^64, and the runs' rows were filled from its first
  // row back round to its "last": past their end (`vramscope view --view
  // memorymap` died of SIGSEGV).
  vramscope::testing::TraceBuilder b;
  b.alloc(1, 0x100000, 1 << 20);
  constexpr uint64_t near_top = UINT64_MAX - 4095;
  b.alloc(2, near_top, uint64_t{1} << 63);
  vramscope::analysis::Symbolizer symbolizer(b.trace.modules);
  vramscope::analysis::StackResolver stacks(b.trace, symbolizer);
  const MemoryMap map = collect_memory_map(b.trace, 0, 10, stacks, TensorCategories{});
  REQUIRE(map.rects.size() == 2);
  CHECK(map.rects[1].address == near_top);
  CHECK(map.rects[1].size == 4095);  // to the last byte the addresses reach
  REQUIRE(map.bands.size() == 2);
  CHECK(map.packed_bytes == (1 << 20) + 4095);
  CHECK(map.rects[1].packed == 1 << 20);
  REQUIRE(map.run_rows.size() == 1);
  const std::vector<RowSpan>& rows = map.run_rows[0];
  REQUIRE(rows.size() == 2);
  CHECK((rows[0].first_row == 0 && rows[0].last_row == 1019 && rows[0].rect == 0));
  CHECK((rows[1].first_row == 1020 && rows[1].last_row == 1023 && rows[1].rect == 1));
}

TEST_CASE("map raster: a window at the last nanosecond of uint64_t is one nanosecond wide") {
  MemoryMap map;
  map.packed_bytes = 100;
  map.rects = {rect(UINT64_MAX - 1, UINT64_MAX, 0, 50, false)};
  const MapRaster raster = rasterize(map, UINT64_MAX, UINT64_MAX, 1, 2, [](const MapRect&) { return 3u; });
  CHECK(raster.start_ns == UINT64_MAX - 1);
  CHECK(raster.end_ns == UINT64_MAX);
  CHECK(raster.cells == std::vector<uint32_t>{3, 0});  // the lower half of the addresses
}
