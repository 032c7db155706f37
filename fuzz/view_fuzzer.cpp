// libFuzzer target: the desktop viewer opening any trace bytes, without a
// window. The trace (its checksums fixed, so that its records get fuzzed) is
// written to a file and opened as `vramscope view` opens it (load_model: the
// report and the timeline by category); then each view's data is made as the
// views ask for it: the memory map at the default moment, the call trees
// live then and leaked at the end (top-down and bottom-up), the address ×
// time map with its raster, its live allocations and the allocations table
// sorted on each column, and the timeline by site. Beyond never crashing:
// each call tree's root holds the bytes and count of its children, and the
// raster has a cell for each column and row.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "formats/trace_reader.h"
#include "fuzz/memfd_file.h"
#include "fuzz/trace_checksums.h"
#include "ui/allocation_rows.h"
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
  ui::AllocationsTable table;
  for (ui::AllocationColumn column :
       {ui::AllocationColumn::Number, ui::AllocationColumn::Size, ui::AllocationColumn::Site,
        ui::AllocationColumn::Category, ui::AllocationColumn::Made, ui::AllocationColumn::Lifetime,
        ui::AllocationColumn::Stream, ui::AllocationColumn::Thread, ui::AllocationColumn::Address}) {
    table.sort = column;
    table.live_at_moment = column == ui::AllocationColumn::Size;
    ui::table_rows(map, table, window);
  }
  model.site_levels(true);
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
