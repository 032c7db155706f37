// The diagnosis view: why the job ran out of memory (each failed allocation's
// verdict and evidence), what it leaked (live at exit, and sites that grow
// each iteration), and the advice with its savings, as the report has them.
// Each failure and growing site has a button that shows its moment in the
// timeline.
#pragma once

#include <cstdint>
#include <optional>

#include "ui/viewer_model.h"

namespace vramscope::ui {

// Draws the view in the current ImGui window, in the canvas at (x, y); the
// moment a button asked to show, if one was pressed.
std::optional<uint64_t> draw_diagnosis(const ViewerModel& model, float x, float y, float width, float height);

}  // namespace vramscope::ui
