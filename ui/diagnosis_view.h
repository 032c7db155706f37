// The diagnosis view: why the job ran out of memory (each failed allocation's
// verdict and evidence), what it leaked (live at exit, and sites that grow
// each iteration), and the advice with its savings, as the report has them.
// Each failure and growing site has a button that shows its moment in the
// timeline; each site live at exit, one that lists its allocations.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "ui/viewer_model.h"

namespace vramscope::ui {

// What a button asked for.
struct DiagnosisAction {
  std::optional<uint64_t> moment;          // show this moment in the timeline
  std::optional<std::string> leaked_site;  // list this site's allocations live at exit
};

// Draws the view in the current ImGui window, in the canvas at (x, y).
DiagnosisAction draw_diagnosis(const ViewerModel& model, float x, float y, float width, float height);

}  // namespace vramscope::ui
