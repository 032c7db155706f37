// The timeline: live memory over time, stacked by category, with the
// reserved bytes, the device's capacity, the iterations and the failed
// allocations that ran out of memory. Mouse wheel zooms at the cursor,
// dragging pans, a click selects a moment, dragging with the right button
// selects a range; hovering shows the bytes there.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ui/palette.h"
#include "ui/timeline_window.h"
#include "ui/viewer_model.h"

struct ImDrawList;
struct ImVec2;

namespace vramscope::ui {

// Where the timeline draws in a canvas of width × height pixels, and its
// scales. Pure arithmetic, the same for the window and a screenshot.
struct TimelineLayout {
  // The plot's margins: the legend above, byte labels left, times below.
  static constexpr float kLeft = 90, kRight = 16, kTop = 28, kBottom = 44;

  float left = 0, top = 0, right = 0, bottom = 0;  // the plot, in pixels
  uint64_t start_ns = 0, end_ns = 1;               // the time shown
  uint64_t top_bytes = 1;                          // the bytes at the plot's top

  TimelineLayout(const analysis::Timeline& timeline, const TimelineWindow& window, float width, float height);
  // Whole pixels: lines and bands fall on pixel edges.
  float x_of(uint64_t time_ns) const;
  float y_of(uint64_t bytes) const;
  uint64_t time_at(float x) const;
  int columns() const { return static_cast<int>(right - left); }
};

// The bytes at the plot's top, the same at every zoom: a tenth above the
// highest reserved bytes, or above the capacity when that is no more than
// twice as high (so that the capacity line shows when a job comes near it).
uint64_t timeline_top_bytes(const analysis::Timeline& timeline);

// Draws the timeline of `model` into the canvas at (x, y) of width × height,
// its bands from `bands`: the model's levels (by category) or its site levels.
void draw_timeline(const ViewerModel& model, const TimelineLevels& bands, const TimelineWindow& window,
                   ImDrawList& draw, float x, float y, float width, float height);
// The largest allocations of the band `series` of `bands` live at `time_ns`,
// at most `most`, from the memory map (indices into its rectangles).
std::vector<size_t> band_allocations_at(const MemoryMap& map, const TimelineLevels& bands, size_t series,
                                        uint64_t time_ns, size_t most);
// A band's colour: by its category's name, or (`by_site`) by its place, "other" grey.
Rgb band_colour(const TimelineLevels& bands, size_t series);

// Zoom, pan, selection and (`tooltip`) the bytes under the cursor, from this
// frame's mouse over the canvas drawn at (x, y); call after drawing, inside
// the same window. The memory map shares it, with a tooltip of its own.
void handle_timeline_input(ViewerModel& model, const TimelineLevels& bands, TimelineWindow& window, float x,
                           float y, float width, float height, bool tooltip);

// The allocation selected in the table or the map, if the map has it.
const MapRect* selected_allocation(const ViewerModel& model, const TimelineWindow& window);
// A 2-pixel frame inside [from, to): the selected allocation's mark.
void draw_outline(ImDrawList& draw, ImVec2 from, ImVec2 to, Rgb colour);
// An allocation's size, address, site, category, lifetime, stream, thread and
// call stack, as tooltip lines.
void show_allocation(ViewerModel& model, const MapRect& r);

}  // namespace vramscope::ui
