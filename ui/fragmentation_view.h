// The fragmentation view: at the selected moment (the device's peak when
// none is), every segment of the timeline's device as a bar, its live
// blocks and its free holes in place, and the fragmentation figures.
#pragma once

#include <cstdint>

#include "ui/viewer_model.h"

struct ImDrawList;

namespace vramscope::ui {

// Where the bars go: one row per segment, in address order, each as long
// as its size against the largest segment's, which spans the plot.
struct FragmentationLayout {
  static constexpr float kLeft = 90, kRight = 16, kTop = 52, kBar = 14, kGap = 6;
};

void draw_fragmentation(ViewerModel& model, uint64_t time_ns, ImDrawList& draw, float x, float y, float width,
                        float height);

}  // namespace vramscope::ui
