// The allocations table: every allocation of the timeline's device (the
// memory map's rectangles), sortable by any column and filtered by a text
// (site or category), by the selected moment or by the selected time range.
// Selecting a row selects the allocation in the timeline and the map.
#pragma once

#include "ui/allocation_rows.h"
#include "ui/timeline_window.h"
#include "ui/viewer_model.h"

namespace vramscope::ui {

// Where each row's size bar goes (its share of the largest shown, kBarWidth pixels).
struct AllocationsLayout {
  static constexpr float kBarWidth = 60, kBarHeight = 9;
};

// Draws the table; a click on a row selects its allocation (window.selected_allocation).
// Returns true when a row was double-clicked: show it in the timeline.
bool draw_allocations(ViewerModel& model, AllocationsTable& table, TimelineWindow& window, float x, float y,
                      float width, float height, bool interactive);

}  // namespace vramscope::ui
