// glReadPixels gives rows bottom first; PNG wants them top first.
#include "ui/png_capture.h"

#include <GL/gl.h>
#include <stb_image_write.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace vramscope::ui {

void save_framebuffer_png(const std::string& path, int width, int height) {
  const size_t row = static_cast<size_t>(width) * 3;
  std::vector<unsigned char> pixels(row * static_cast<size_t>(height));
  glPixelStorei(GL_PACK_ALIGNMENT, 1);
  glReadPixels(0, 0, width, height, GL_RGB, GL_UNSIGNED_BYTE, pixels.data());
  std::vector<unsigned char> flipped(pixels.size());
  for (int y = 0; y < height; ++y) {
    std::memcpy(flipped.data() + static_cast<size_t>(y) * row,
                pixels.data() + static_cast<size_t>(height - 1 - y) * row, row);
  }
  errno = 0;
  if (stbi_write_png(path.c_str(), width, height, 3, flipped.data(), static_cast<int>(row)) == 0) {
    throw std::runtime_error("cannot write " + path +
                             (errno != 0 ? ": " + std::string(std::strerror(errno)) : ""));
  }
}

}  // namespace vramscope::ui
