// The call tree view: the bytes live at the selected moment (the device's
// peak when none is), or those leaked at exit, by call path (ui/call_tree.h).
#pragma once

#include <cstdint>

#include "ui/viewer_model.h"

namespace vramscope::ui {

struct CallTreeChoice {
  bool leaked = false;     // else live at the moment
  bool bottom_up = false;  // else top-down
};

// Where the rows go: each row a bar as wide as its bytes against the root's
// (kBarWidth pixels), then the bytes, the count and the frame.
struct CallTreeLayout {
  static constexpr float kBarWidth = 200, kBarHeight = 10;
};

void draw_call_tree(ViewerModel& model, CallTreeChoice& choice, uint64_t time_ns, float x, float y,
                    float width, float height, bool interactive);

}  // namespace vramscope::ui
