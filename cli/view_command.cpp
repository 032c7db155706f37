// `vramscope view`: starts the desktop viewer, vramscope-view, installed
// beside vramscope, with the same arguments.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/commands.h"

namespace vramscope::cli {

namespace fs = std::filesystem;

int view_command(const Args& args) {
  std::error_code error;
  const fs::path exe = fs::read_symlink("/proc/self/exe", error);
  if (error) throw UsageError{"cannot find where vramscope is installed: " + error.message(), 1};
  const fs::path viewer = exe.parent_path() / "vramscope-view";
  std::vector<std::string> words = {viewer.string()};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& word : words) argv.push_back(word.data());
  argv.push_back(nullptr);
  execv(viewer.c_str(), argv.data());
  throw UsageError{
      "cannot start " + viewer.string() + ": " + std::strerror(errno) +
          (errno == ENOENT ? " (this build has no viewer: it needs libimgui-dev and libglfw3-dev)" : ""),
      1};
}

}  // namespace vramscope::cli
