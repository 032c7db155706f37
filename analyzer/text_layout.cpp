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

std::string one_line(std::string_view name) {
  std::string text;
  text.reserve(name.size());
  for (char c : name) {
    if (c == '\n') {
      text += "\\x0a";
    } else if (c == '\t') {
      text += "\\x09";
    } else {
      text += c;
    }
  }
  return text;
}

std::string fit(std::string_view name, size_t width) {
  const std::string text = one_line(name);
  if (text.size() <= width) return text;
  if (width <= 3) return text.substr(0, width);
  return text.substr(0, width - 3) + "...";
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
  return one_line(text);
}

std::string frame_label(const StackFrame& frame, size_t width) {
  std::string where;
  if (frame.function == "??" && !frame.module.empty()) {
    where = one_line(basename(frame.module)) + printf_string("+0x%" PRIx64, frame.module_offset);
  } else if (!frame.file.empty()) {
    where = one_line(basename(frame.file)) + ":" + std::to_string(frame.line);
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
    text += " (" + one_line(basename(site.file));
    if (site.line) text += ":" + std::to_string(site.line);
    text += ")";
  }
  return text;
}

std::string trace_label(const TraceFacts& trace) {
  return trace.rank >= 0 ? "rank " + std::to_string(trace.rank) : "pid " + std::to_string(trace.pid);
}

namespace {

// The length of the UTF-8 sequence at the start of `s` and its code point;
// 0 when the bytes there are not one (a stray continuation byte, a
// sequence cut short, an overlong form, a surrogate, past U+10FFFF).
size_t utf8_sequence(std::string_view s, uint32_t& code_point) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  const uint8_t lead = byte(0);
  size_t length = 0;
  uint8_t low = 0x80, high = 0xbf;  // what the second byte may be
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
    code_point = lead & 0x1f;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    code_point = lead & 0x0f;
    if (lead == 0xe0) low = 0xa0;   // overlong
    if (lead == 0xed) high = 0x9f;  // surrogates
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    code_point = lead & 0x07;
    if (lead == 0xf0) low = 0x90;   // overlong
    if (lead == 0xf4) high = 0x8f;  // past U+10FFFF
  } else {
    return 0;
  }
  if (s.size() < length || byte(1) < low || byte(1) > high) return 0;
  for (size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xc0) != 0x80) return 0;
    code_point = (code_point << 6) | (byte(i) & 0x3f);
  }
  return length;
}

// Characters a terminal acts on rather than shows: the C0 controls but
// newline and tab (ESC starts its commands), DEL, the C1 controls (U+009B
// is a one-character ESC [), and the marks that reorder text right to left.
bool acts_on_terminal(uint32_t c) {
  if (c < 0x20) return c != '\n' && c != '\t';
  return c == 0x7f || (c >= 0x80 && c <= 0x9f) || (c >= 0x202a && c <= 0x202e) ||
         (c >= 0x2066 && c <= 0x2069);
}

}  // namespace

std::string terminal_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const auto b = static_cast<uint8_t>(text[i]);
    uint32_t c = b;
    size_t length = b < 0x80 ? 1 : utf8_sequence(text.substr(i), c);
    if (length != 0 && !acts_on_terminal(c)) {
      out.append(text, i, length);
      i += length;
      continue;
    }
    // Each byte of it as \xHH: not valid UTF-8, or a character the terminal would act on.
    for (size_t end = i + std::max<size_t>(length, 1); i < end; ++i) {
      out += printf_string("\\x%02x", static_cast<uint8_t>(text[i]));
    }
  }
  return out;
}

}  // namespace vramscope::analysis::text
