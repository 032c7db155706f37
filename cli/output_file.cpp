// Writing a command's output file, with one actionable line on failure.
#include "cli/output_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "analyzer/text_layout.h"
#include "cli/commands.h"

namespace vramscope::cli {

std::string json_text(const nlohmann::ordered_json& json) {
  return json.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

void write_file(const std::string& path, const std::string& text) {
  std::FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) throw UsageError{"cannot write " + path + ": " + std::strerror(errno), 1};
  bool written = std::fwrite(text.data(), 1, text.size(), file) == text.size();
  int write_errno = errno;
  if (std::fclose(file) != 0 && written) {
    written = false;
    write_errno = errno;
  }
  if (!written) throw UsageError{"cannot write " + path + ": " + std::strerror(write_errno), 1};
}

void write_output(const std::string& path, const std::string& text) {
  if (path == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
  } else {
    write_file(path, text);
  }
}

void print_text(const std::string& text, std::FILE* out) {
  const std::string shown = analysis::text::terminal_text(text);
  std::fwrite(shown.data(), 1, shown.size(), out);
}

void print_message(const std::string& message) {
  using namespace analysis::text;
  std::fprintf(stderr, "vramscope: %s\n", terminal_text(one_line(message)).c_str());
}

}  // namespace vramscope::cli
