// The memory map view: address × time, one rectangle per allocation (tensor
// blocks inside their segments where the allocator annotates them),
// coloured by category or by site, over the same time as the timeline's
// window. A click selects the allocation under the cursor (and the moment).
#pragma once

#include "ui/timeline_window.h"
#include "ui/viewer_model.h"

struct ImDrawList;

namespace vramscope::ui {

// The map's raster (MapRaster) as an OpenGL texture, made for one colouring;
// released (and so made again) when the map changes: a live job's newer trace.
struct MapTexture {
  unsigned int texture = 0;  // 0: none yet
  bool by_site = false;
  uint64_t start_ns = 0, end_ns = 1;
  MapTexture() = default;
  MapTexture(const MapTexture&) = delete;
  MapTexture& operator=(const MapTexture&) = delete;
  ~MapTexture();
  void release();  // while the OpenGL context is current
};

// A map of more rectangles than this is drawn from its raster wherever a
// pixel column is at least one of the raster's columns wide (kRasterColumns,
// or the widest texture the OpenGL implementation takes, if less).
inline constexpr size_t kRasterAbove = 50'000;
inline constexpr size_t kRasterColumns = 16384, kRasterRows = 1024;

// The plot's place is the timeline's (TimelineLayout's margins); addresses
// go down from the lowest at the top, the gaps between used ranges left out.
// Coloured by site, else by category; `raster` is kept for the next frames.
void draw_memory_map(ViewerModel& model, bool by_site, MapTexture& raster, const TimelineWindow& window,
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
