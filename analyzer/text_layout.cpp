// Text layout helpers.
#include "analyzer/text_layout.h"

#include <algorithm>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <vector>

namespace vramscope::analysis::text {

std::string printf_string(const char* format, ...) {
  va_list args;
  va_start(args, format);
  va_list again;
  va_copy(again, args);
  int length = std::vsnprintf(nullptr, 0, format, args);
  va_end(args);
  std::string result;
  if (length > 0) {
    std::vector<char> buffer(static_cast<size_t>(length) + 1);
    std::vsnprintf(buffer.data(), buffer.size(), format, again);
    result.assign(buffer.data(), static_cast<size_t>(length));
  }
  va_end(again);
  return result;
}

std::string thousands(uint64_t n) {
  const std::string digits = std::to_string(n);
  std::string text;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) text.push_back(',');
    text.push_back(digits[i]);
  }
  return text;
}

std::string elapsed(uint64_t ns) {
  // Short traces (tests, samples) would all read "0.000 s" otherwise.
  double value = static_cast<double>(ns);
  if (ns >= 1'000'000'000) return printf_string("%.3f s", value / 1e9);
  if (ns >= 1'000'000) return printf_string("%.3f ms", value / 1e6);
  return printf_string("%.3f us", value / 1e3);
}

std::string fit(std::string_view text, size_t width) {
  if (text.size() <= width) return std::string(text);
  if (width <= 3) return std::string(text.substr(0, width));
  return std::string(text.substr(0, width - 3)) + "...";
}

std::string_view basename(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string short_function(std::string_view name) {
  std::string text(name);
  // Drop a trailing qualifier, then the parameter list that ends the name.
  for (std::string_view suffix : {" const", " volatile", " &", " &&"}) {
    if (text.size() > suffix.size() && text.ends_with(suffix)) text.resize(text.size() - suffix.size());
  }
  if (!text.empty() && text.back() == ')') {
    int depth = 0;
    for (size_t i = text.size(); i-- > 0;) {
      if (text[i] == ')') ++depth;
      if (text[i] == '(' && --depth == 0) {
        if (i > 0) text.resize(i);
        break;
      }
    }
  }
  const std::string anonymous = "(anonymous namespace)::";
  for (size_t at; (at = text.find(anonymous)) != std::string::npos;) text.erase(at, anonymous.size());
  return text;
}

std::string frame_label(const StackFrame& frame, size_t width) {
  std::string where;
  if (frame.function == "??" && !frame.module.empty()) {
    where = printf_string("%s+0x%" PRIx64, std::string(basename(frame.module)).c_str(), frame.module_offset);
  } else if (!frame.file.empty()) {
    where = std::string(basename(frame.file)) + ":" + std::to_string(frame.line);
  }
  std::string name = short_function(frame.function);
  if (where.empty() || width < 16) return fit(name, width);
  // The location is the part a reader acts on; the function name gives way first.
  size_t where_width = std::min(where.size(), width / 2);
  std::string function = fit(name, width - where_width - 2);
  return function + "  " + fit(where, width - function.size() - 2);
}

std::string site_text(const Site& site) {
  std::string text = short_function(site.function);
  if (!site.file.empty()) {
    text += " (" + std::string(basename(site.file));
    if (site.line) text += ":" + std::to_string(site.line);
    text += ")";
  }
  return text;
}

std::string trace_label(const TraceFacts& trace) {
  return trace.rank >= 0 ? "rank " + std::to_string(trace.rank) : "pid " + std::to_string(trace.pid);
}

}  // namespace vramscope::analysis::text
