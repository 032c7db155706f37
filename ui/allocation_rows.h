// The allocations table's rows: which of the memory map's rectangles it
// shows, and in what order. Pure, tested without a window.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ui/memory_map.h"
#include "ui/timeline_window.h"

namespace vramscope::ui {

// Columns, in the order shown.
enum class AllocationColumn { Number, Size, Site, Category, Made, Lifetime, Stream, Thread, Address };

struct AllocationsTable {
  char filter[128] = {};        // site or category contains it (any case)
  bool live_at_moment = false;  // only what is live at the selected moment
  bool in_range = false;        // only what was made in the selected time range
  AllocationColumn sort = AllocationColumn::Size;
  bool ascending = false;

  // The rows shown, as indices into the memory map's rectangles; made again
  // when what they depend on changes.
  std::vector<uint32_t> rows;
  std::optional<std::string> rows_key;
  // The selection the table last scrolled to or made: one made elsewhere
  // (the map, --select) is scrolled into view once.
  std::optional<size_t> shown_selection;
};

// Which rectangles `table` shows, in its order: sorted on its column, ties
// in allocation order.
std::vector<uint32_t> table_rows(const MemoryMap& map, const AllocationsTable& table,
                                 const TimelineWindow& window);

}  // namespace vramscope::ui
