// libFuzzer target: the desktop viewer opening any trace bytes, without a
// window. The trace (its checksums fixed, so that its records get fuzzed) is
// written to a file and opened as `vramscope view` opens it (load_model: the
// report and the timeline by category); then each view's data is made as the
// views ask for it: the memory map at the default moment, the call trees
// live then and leaked at the end (top-down and bottom-up), the address ×
// time map with its raster, its live allocations and the allocations table
// sorted on each column both ways, filtered by a site's name, by the moment
// and by a time range, and the timeline by site. Beyond never crashing:
// each call tree's root holds the bytes and count of its children; the
// raster has a cell for each column and row; the table shows each
// allocation once, largest first by default with ties in allocation order;
// what it shows live at the moment is what the map lists live then (two
// ways to the same answer: the table looks at every allocation, the map's
// list skips runs of them over before); and a site's name finds every
// allocation of that site. The timeline is wheeled in and out and dragged
// past its ends: its window stays in the trace, at least a microsecond
// wide, and wheeled all the way out is the whole trace again; its columns
// find the same highest value from the top of its levels as from the
// bottom, none higher at any zoom, and draw nothing past the trace's end.
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "formats/trace_reader.h"
#include "fuzz/memfd_file.h"
#include "fuzz/trace_checksums.h"
#include "ui/allocation_rows.h"
#include "ui/timeline_levels.h"
#include "ui/timeline_window.h"
#include "ui/viewer_model.h"

namespace {

using namespace vramscope;

void check_tree(const ui::CallTreeNode& root) {
  uint64_t bytes = 0, count = 0;
  for (const ui::CallTreeNode& child : root.children) {
    bytes += child.bytes;
    count += child.count;
  }
  if (!root.children.empty() && (bytes != root.bytes || count != root.count)) std::abort();
}

// Each of `rows` once, an index into the map's rectangles.
std::vector<uint32_t> sorted_once(std::vector<uint32_t> rows, size_t count) {
  std::sort(rows.begin(), rows.end());
  if (std::adjacent_find(rows.begin(), rows.end()) != rows.end()) std::abort();
  if (!rows.empty() && rows.back() >= count) std::abort();
  return rows;
}

// Largest first, ties in allocation order: the table's default order.
void check_largest_first(const ui::MapRect* rects, size_t count, const std::vector<uint32_t>& rows) {
  for (size_t i = 1; i < rows.size(); ++i) {
    const ui::MapRect &a = rects[rows[i - 1]], &b = rects[rows[i]];
    if (a.size < b.size || (a.size == b.size && rows[i - 1] > rows[i])) std::abort();
  }
  (void)sorted_once(rows, count);
}

void check_table(const ui::MemoryMap& map, ui::TimelineWindow window, uint64_t moment) {
  const size_t count = map.rects.size();
  ui::AllocationsTable table;
  std::vector<uint32_t> all(count);
  for (size_t i = 0; i < count; ++i) all[i] = static_cast<uint32_t>(i);
  for (ui::AllocationColumn column :
       {ui::AllocationColumn::Number, ui::AllocationColumn::Size, ui::AllocationColumn::Site,
        ui::AllocationColumn::Category, ui::AllocationColumn::Made, ui::AllocationColumn::Lifetime,
        ui::AllocationColumn::Stream, ui::AllocationColumn::Thread, ui::AllocationColumn::Address}) {
    for (bool ascending : {false, true}) {
      table.sort = column;
      table.ascending = ascending;
      if (sorted_once(ui::table_rows(map, table, window), count) != all) std::abort();
    }
  }
  table.sort = ui::AllocationColumn::Size;
  table.ascending = false;
  check_largest_first(map.rects.data(), count, ui::table_rows(map, table, window));

  // Live at the moment: what the map's list says, found another way.
  window.selected_ns = moment;
  table.live_at_moment = true;
  const std::vector<uint32_t> live_rows = ui::table_rows(map, table, window);
  check_largest_first(map.rects.data(), count, live_rows);
  const std::vector<size_t> listed = ui::live_allocations_at(
      map, moment, [](const ui::MapRect&) { return true; }, SIZE_MAX);
  if (sorted_once(live_rows, count) !=
      sorted_once(std::vector<uint32_t>(listed.begin(), listed.end()), count))
    std::abort();
  table.live_at_moment = false;

  // Made in the first half of the window.
  window.range =
      std::pair<uint64_t, uint64_t>{window.from_ns, window.from_ns + (window.to_ns - window.from_ns) / 2};
  table.in_range = true;
  for (uint32_t row : ui::table_rows(map, table, window)) {
    if (map.rects[row].from_ns < window.range->first || map.rects[row].from_ns >= window.range->second)
      std::abort();
  }
  table.in_range = false;

  // The middle site's name, in capitals: each of its allocations is found.
  if (map.sites.empty()) return;
  const std::string& name = map.sites[map.sites.size() / 2];
  std::string needle = name.substr(name.size() / 4, sizeof table.filter - 1);
  for (char& c : needle) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::memcpy(table.filter, needle.data(), needle.size());
  table.filter[needle.size()] = 0;
  const std::vector<uint32_t> found = sorted_once(ui::table_rows(map, table, window), count);
  for (size_t i = 0; i < count; ++i) {
    if (map.rects[i].site == map.sites.size() / 2 &&
        !std::binary_search(found.begin(), found.end(), static_cast<uint32_t>(i)))
      std::abort();
  }
}

// A window the mouse made: inside the trace, never narrower than a
// microsecond (or the whole trace, if it is shorter).
void check_window(const ui::TimelineWindow& w, const ui::TimelineWindow& all) {
  if (w.from_ns < all.from_ns || w.to_ns > all.to_ns || w.to_ns <= w.from_ns) std::abort();
  if (w.to_ns - w.from_ns < std::min(ui::TimelineWindow::kMinSpanNs, all.to_ns - all.from_ns)) std::abort();
}

// Wheel all the way in at `anchor`, drag past both ends, wheel all the way
// out: the window stays in the trace, and ends as the whole trace.
void check_zoom(const analysis::Timeline& timeline, double anchor) {
  const ui::TimelineWindow all = ui::TimelineWindow::whole(timeline);
  ui::TimelineWindow w = all;
  for (int i = 0; i < 70; ++i) {
    w.zoom(0.5, anchor, timeline);
    check_window(w, all);
  }
  for (double share : {-1e30, 0.5, 1e30, -0.5}) {
    w.pan(share, timeline);
    check_window(w, all);
    if ((share == -1e30 && w.from_ns != all.from_ns) || (share == 1e30 && w.to_ns != all.to_ns)) std::abort();
  }
  for (int i = 0; i < 70; ++i) {
    w.zoom(2.0, anchor, timeline);
    check_window(w, all);
  }
  if (w.from_ns != all.from_ns || w.to_ns != all.to_ns) std::abort();
}

// The timeline's columns: the highest value over the whole trace is the same
// read from the top of the levels (one column) as from their bottom (many),
// no column is higher, and nothing is drawn outside the trace.
void check_levels(const ui::TimelineLevels& levels, const std::vector<ui::TimelineWindow>& windows) {
  const uint64_t start = levels.start_ns(), end = levels.end_ns();
  for (size_t series = 0; series < levels.series_count(); ++series) {
    uint64_t highest = 0;
    levels.columns(series, start, end, std::span(&highest, 1));
    for (size_t width : {size_t{7}, size_t{512}}) {
      std::vector<uint64_t> out(width);
      levels.columns(series, start, end, out);
      if (*std::max_element(out.begin(), out.end()) != highest) std::abort();
    }
    std::vector<uint64_t> out(64);
    for (const ui::TimelineWindow& w : windows) {
      levels.columns(series, w.from_ns, w.to_ns, out);
      if (*std::max_element(out.begin(), out.end()) > highest) std::abort();
    }
    if (end <= UINT64_MAX - 1000) {
      levels.columns(series, end, end + 1000, out);
      if (*std::max_element(out.begin(), out.end()) != 0) std::abort();
    }
  }
}

void check_timeline(ui::ViewerModel& model, uint64_t moment) {
  const analysis::Timeline& timeline = model.timeline;
  for (double anchor : {0.0, 0.37, 1.0}) check_zoom(timeline, anchor);
  // Centred on an allocation or on the peak, as the table and the keys do.
  const ui::TimelineWindow all = ui::TimelineWindow::whole(timeline);
  std::vector<ui::TimelineWindow> windows{all};
  for (double centre : {static_cast<double>(moment), static_cast<double>(all.from_ns),
                        static_cast<double>(all.to_ns), -1e300, 1e300}) {
    for (double share : {1.0, 0.1, 1e-30}) {
      ui::TimelineWindow w = all;
      w.centre_on(centre, share, timeline);
      check_window(w, all);
      windows.push_back(w);
    }
  }
  check_levels(model.levels, windows);
  if (const ui::TimelineLevels* sites = model.site_levels(true)) check_levels(*sites, windows);
}

void draw_views(ui::ViewerModel& model) {
  const uint64_t moment = default_moment(model);
  model.fragmentation_at(moment);
  check_tree(model.call_tree(false, false, moment));
  check_tree(model.call_tree(false, true, moment));
  check_tree(model.call_tree(true, false, 0));
  check_tree(model.call_tree(true, true, 0));

  const ui::MemoryMap& map = model.memory_map();
  const ui::TimelineWindow window = ui::TimelineWindow::whole(model.timeline);
  const ui::MapRaster raster = ui::rasterize(map, window.from_ns, window.to_ns, 64, 32,
                                             [](const ui::MapRect& r) { return uint32_t{r.category} + 1; });
  if (raster.cells.size() != raster.columns * raster.rows) std::abort();
  ui::live_allocations_at(
      map, moment, [](const ui::MapRect&) { return true; }, 100);
  check_table(map, window, moment);
  check_timeline(model, moment);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes = fuzz::with_checksums_fixed(std::span<const uint8_t>(data, size));
  ui::ViewerModel model;
  try {
    model = ui::load_model(fuzz::as_file(bytes), 512);
  } catch (const trace::TraceError&) {
    return 0;  // damaged or foreign input: the viewer says so
  } catch (const std::invalid_argument&) {
    return 0;  // a trace it cannot show (nothing to draw a timeline of): the viewer says so
  }
  draw_views(model);
  return 0;
}
