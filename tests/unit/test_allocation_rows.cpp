// The allocations table's rows: filters by text, moment and range; sorting
// on each column with ties in allocation order.
#include <doctest/doctest.h>

#include <cstring>

#include "analyzer/categories.h"
#include "ui/allocation_rows.h"

using namespace vramscope;
using namespace vramscope::ui;

namespace {

MapRect rect(uint64_t from, uint64_t to, uint64_t size, uint32_t site, analysis::Category category,
             uint64_t address, bool freed = true) {
  MapRect r;
  r.from_ns = from;
  r.to_ns = to;
  r.size = size;
  r.site = site;
  r.category = static_cast<uint8_t>(category);
  r.address = address;
  r.freed = freed;
  r.stream = site;
  r.thread = 1 + site;
  return r;
}

// Five allocations of three sites; the last live at the end (its to_ns the trace's end).
MemoryMap five() {
  MemoryMap map;
  map.sites = {"allocate_parameters (model.cpp:10)", "forward_layer (model.cpp:20)",
               "Adam::init (optim.cpp:5)"};
  using C = analysis::Category;
  map.rects = {rect(0, 100, 4096, 0, C::Parameters, 0x5000, false),
               rect(10, 20, 512, 1, C::Activations, 0x1000), rect(15, 40, 2048, 1, C::Activations, 0x2000),
               rect(30, 35, 512, 1, C::Temporaries, 0x3000),
               rect(50, 100, 4096, 2, C::OptimizerState, 0x4000, false)};
  return map;
}

}  // namespace

TEST_CASE("allocation rows: largest first by default, ties in allocation order; every column sorts") {
  const MemoryMap map = five();
  AllocationsTable table;
  TimelineWindow window;
  CHECK(table_rows(map, table, window) == std::vector<uint32_t>{0, 4, 2, 1, 3});
  table.ascending = true;
  CHECK(table_rows(map, table, window) == std::vector<uint32_t>{1, 3, 2, 0, 4});
  table.sort = AllocationColumn::Number;
  CHECK(table_rows(map, table, window) == std::vector<uint32_t>{0, 1, 2, 3, 4});
  table.ascending = false;
  CHECK(table_rows(map, table, window) == std::vector<uint32_t>{4, 3, 2, 1, 0});
  table.sort = AllocationColumn::Site;  // by name: Adam, allocate_parameters, forward_layer
  table.ascending = true;
  CHECK(table_rows(map, table, window) == std::vector<uint32_t>{4, 0, 1, 2, 3});
  table.sort = AllocationColumn::Category;  // the categories' order: parameters first
  CHECK(table_rows(map, table, window) == std::vector<uint32_t>{0, 4, 1, 2, 3});
  table.sort = AllocationColumn::Lifetime;  // what lives to the end last
  CHECK(table_rows(map, table, window) == std::vector<uint32_t>{3, 1, 2, 0, 4});
  table.sort = AllocationColumn::Address;
  CHECK(table_rows(map, table, window) == std::vector<uint32_t>{1, 2, 3, 4, 0});
  table.sort = AllocationColumn::Thread;
  table.ascending = false;
  CHECK(table_rows(map, table, window) == std::vector<uint32_t>{4, 1, 2, 3, 0});
}

TEST_CASE("allocation rows: a filter matches a site or a category in any case") {
  const MemoryMap map = five();
  AllocationsTable table;
  TimelineWindow window;
  std::strcpy(table.filter, "FORWARD");
  CHECK(table_rows(map, table, window) == std::vector<uint32_t>{2, 1, 3});
  std::strcpy(table.filter, "optimizer");  // a category's name
  CHECK(table_rows(map, table, window) == std::vector<uint32_t>{4});
  std::strcpy(table.filter, "optim.cpp");  // a site's file
  CHECK(table_rows(map, table, window) == std::vector<uint32_t>{4});
  std::strcpy(table.filter, "nothing like it");
  CHECK(table_rows(map, table, window).empty());
}

TEST_CASE("allocation rows: live at the selected moment; made in the selected range") {
  const MemoryMap map = five();
  AllocationsTable table;
  TimelineWindow window;
  table.sort = AllocationColumn::Number;
  table.ascending = true;
  table.live_at_moment = true;
  CHECK(table_rows(map, table, window).empty());  // no moment selected
  window.selected_ns = 20;                        // the second freed at 20: gone
  CHECK(table_rows(map, table, window) == std::vector<uint32_t>{0, 2});
  window.selected_ns = 100;  // the end: what was never freed
  CHECK(table_rows(map, table, window) == std::vector<uint32_t>{0, 4});
  // Made and freed at one moment: live at it, as the map's list of what is live says.
  MemoryMap instant = five();
  instant.rects[3].to_ns = instant.rects[3].from_ns;  // 30 to 30
  window.selected_ns = 30;
  CHECK(table_rows(instant, table, window) == std::vector<uint32_t>{0, 2, 3});
  window.selected_ns = 31;
  CHECK(table_rows(instant, table, window) == std::vector<uint32_t>{0, 2});
  table.live_at_moment = false;
  table.in_range = true;
  CHECK(table_rows(map, table, window).size() == 5);  // no range: the filter waits for one
  window.range = std::pair<uint64_t, uint64_t>{10, 30};
  CHECK(table_rows(map, table, window) == std::vector<uint32_t>{1, 2});
}
