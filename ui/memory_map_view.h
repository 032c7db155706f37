// The memory map view: address × time, one rectangle per allocation (tensor
// blocks inside their segments where the allocator annotates them),
// coloured by category or by site, over the same time as the timeline's
// window. A click selects the allocation under the cursor (and the moment).
#pragma once

#include "ui/timeline_window.h"
#include "ui/viewer_model.h"

struct ImDrawList;

namespace vramscope::ui {

// The plot's place is the timeline's (TimelineLayout's margins); addresses
// go down from the lowest at the top, the gaps between used ranges left out.
struct MemoryMapChoice {
  bool by_site = false;  // else by category
};

void draw_memory_map(ViewerModel& model, const MemoryMapChoice& choice, const TimelineWindow& window,
                     ImDrawList& draw, float x, float y, float width, float height);

// The rectangle drawn at the canvas point (mx, my), if any: a block before its segment.
const MapRect* memory_map_hit(ViewerModel& model, const TimelineWindow& window, float mx, float my,
                              float width, float height);

// The allocation under the mouse, if any, as a tooltip (its size, site,
// lifetime and call stack), and a click on it selects it. Call after
// draw_memory_map, in the same window.
void handle_memory_map_input(ViewerModel& model, TimelineWindow& window, float x, float y, float width,
                             float height);

}  // namespace vramscope::ui
