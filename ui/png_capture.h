// Saves what the viewer drew to a PNG file: the headless mode's output.
#pragma once

#include <string>

namespace vramscope::ui {

// Reads the current OpenGL framebuffer (width × height, RGB) and writes it
// to `path`, top row first. Throws std::runtime_error if it cannot be written.
void save_framebuffer_png(const std::string& path, int width, int height);

}  // namespace vramscope::ui
