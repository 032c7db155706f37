// The memory map view: address × time, one rectangle per allocation (tensor
// blocks inside their segments where the allocator annotates them),
// coloured by site, over the same time as the timeline's window.
#pragma once

#include "ui/timeline_window.h"
#include "ui/viewer_model.h"

struct ImDrawList;

namespace vramscope::ui {

// The plot's place is the timeline's (TimelineLayout's margins); addresses
// go down from the lowest at the top, the gaps between used ranges left out.
void draw_memory_map(ViewerModel& model, const TimelineWindow& window, ImDrawList& draw, float x, float y,
                     float width, float height);

// The allocation under the mouse, if any, as a tooltip: its size, site,
// lifetime and call stack. Call after draw_memory_map, in the same window.
void show_memory_map_tooltip(ViewerModel& model, const TimelineWindow& window, float x, float y, float width,
                             float height);

}  // namespace vramscope::ui
