// Scripted mouse and keys for a headless run (--input): each step is one
// frame of input, so the tests drive the interactive paths (click, wheel,
// drag, a range, the tabs' keys) exactly as a user's hand would.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace vramscope::ui {

// The state of the mouse and keys in one frame.
struct InputFrame {
  float x = -1, y = -1;  // the mouse; -1: not over the window
  bool left = false, right = false, shift = false;
  float wheel = 0;  // notches, forward positive
  int key = 0;      // '1' to '9' held this frame, else 0
};

// Parses steps separated by ';':
//   move X Y | press left|right | release left|right | wheel N |
//   key 1-9 | shift on|off | drag X1 Y1 X2 Y2 [right]
// (drag: press at the first point, ten moves to the second, release).
// Throws std::invalid_argument with the step it cannot read.
std::vector<InputFrame> parse_input_script(std::string_view script);

}  // namespace vramscope::ui
