// The fuzz targets that read a trace as the command line and the viewer
// do, from a file (trace_fuzzer.cpp, view_fuzzer.cpp): one memfd, rewritten
// for every input, stands for the file.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

namespace vramscope::fuzz {

// The path of a file that holds `bytes` (until the next call).
inline std::string as_file(std::span<const uint8_t> bytes) {
  static const int fd = memfd_create("vramscope-fuzz", MFD_CLOEXEC);
  static const std::string path = "/proc/self/fd/" + std::to_string(fd);
  if (fd < 0 || ftruncate(fd, 0) != 0 ||
      (!bytes.empty() && pwrite(fd, bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size()))) {
    std::abort();  // the harness, not the reader
  }
  return path;
}

}  // namespace vramscope::fuzz
