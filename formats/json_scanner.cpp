// The JSON scanner: RFC 8259's grammar, one pass, an explicit stack.
#include "formats/json_scanner.h"

#include <charconv>
#include <cmath>
#include <vector>

#include "formats/trace_reader.h"

namespace vramscope::trace {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

class Scanner {
 public:
  Scanner(std::string_view text, JsonHandler& handler, const std::string& source)
      : begin_(text.data()),
        p_(text.data()),
        end_(text.data() + text.size()),
        handler_(handler),
        source_(source) {}

  void run() {
    if (end_ - p_ >= 3 && std::string_view(p_, 3) == "\xef\xbb\xbf") p_ += 3;
    skip_space();
    value();
    while (!open_.empty()) {
      skip_space();
      if (p_ == end_) cut_short();
      bool object = open_.back() == '{';
      char close = object ? '}' : ']';
      if (*p_ == close) {
        ++p_;
        open_.pop_back();
        object ? handler_.end_object() : handler_.end_array();
        just_opened_ = false;
        continue;
      }
      if (!just_opened_) {
        if (*p_ != ',') fail(object ? "expected ',' or '}'" : "expected ',' or ']'");
        ++p_;
        skip_space();
      }
      just_opened_ = false;
      if (object) {
        if (p_ == end_) cut_short();
        if (*p_ != '"') fail("expected a key in quotes");
        handler_.key(string());
        skip_space();
        if (p_ == end_) cut_short();
        if (*p_ != ':') fail("expected ':' after a key");
        ++p_;
        skip_space();
      }
      value();
    }
    skip_space();
    if (p_ != end_) fail("more after the end of the JSON value");
  }

 private:
  [[noreturn]] void fail(const char* why) const {
    throw TraceError(source_ + ": not valid JSON at byte " + std::to_string(p_ - begin_) + ": " + why);
  }
  [[noreturn]] void cut_short() const {
    throw TraceError(source_ + ": the JSON ends early (byte " + std::to_string(end_ - begin_) +
                     "): the file is cut short; export it again");
  }

  void skip_space() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }

  void value() {
    if (p_ == end_) cut_short();
    switch (*p_) {
      case '{':
      case '[':
        open_.push_back(*p_);
        *p_++ == '{' ? handler_.start_object() : handler_.start_array();
        just_opened_ = true;
        return;
      case '"':
        handler_.string(string());
        return;
      case 't':
        literal("true");
        handler_.boolean(true);
        return;
      case 'f':
        literal("false");
        handler_.boolean(false);
        return;
      case 'n':
        literal("null");
        handler_.null();
        return;
      default:
        if (*p_ == '-' || is_digit(*p_)) return number();
        fail("expected a value");
    }
  }

  void literal(std::string_view word) {
    size_t left = static_cast<size_t>(end_ - p_);
    std::string_view here(p_, std::min(left, word.size()));
    if (here != word.substr(0, here.size())) fail("expected a value");
    if (left < word.size()) cut_short();
    p_ += word.size();
  }

  void digits() {
    if (p_ == end_) cut_short();
    if (!is_digit(*p_)) fail("a number without digits");
    while (p_ != end_ && is_digit(*p_)) ++p_;
  }

  void number() {
    const char* start = p_;
    if (*p_ == '-') ++p_;
    if (p_ != end_ && *p_ == '0') {
      ++p_;
    } else {
      digits();
    }
    bool integral = true;
    if (p_ != end_ && *p_ == '.') {
      ++p_;
      digits();
      integral = false;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      digits();
      integral = false;
    }
    if (integral) {
      int64_t i = 0;
      if (std::from_chars(start, p_, i).ec == std::errc()) return handler_.integer(i);
      uint64_t u = 0;
      if (*start != '-' && std::from_chars(start, p_, u).ec == std::errc())
        return handler_.unsigned_integer(u);
    }
    double d = 0;
    if (std::from_chars(start, p_, d).ec != std::errc()) {
      // Out of a double's range: from_chars leaves it unset.
      bool tiny = false;
      for (const char* c = start; c != p_; ++c) tiny |= *c == '-' && c != start;  // a negative exponent
      d = tiny ? 0.0 : (*start == '-' ? -HUGE_VAL : HUGE_VAL);
    }
    handler_.number(d, std::string_view(start, static_cast<size_t>(p_ - start)));
  }

  // At the opening quote; after it the closing one.
  std::string_view string() {
    const char* start = ++p_;
    while (p_ != end_) {
      unsigned char c = static_cast<unsigned char>(*p_);
      if (c == '"') return std::string_view(start, static_cast<size_t>(p_++ - start));
      if (c == '\\') return escaped(start);
      if (c < 0x20) fail("a control character inside a string");
      ++p_;
    }
    cut_short();
  }

  std::string_view escaped(const char* start) {
    text_.assign(start, p_);
    while (p_ != end_) {
      char c = *p_++;
      if (c == '"') return text_;
      if (static_cast<unsigned char>(c) < 0x20) {
        --p_;
        fail("a control character inside a string");
      }
      if (c != '\\') {
        text_ += c;
        continue;
      }
      if (p_ == end_) cut_short();
      switch (char e = *p_++) {
        case '"':
        case '\\':
        case '/':
          text_ += e;
          break;
        case 'b':
          text_ += '\b';
          break;
        case 'f':
          text_ += '\f';
          break;
        case 'n':
          text_ += '\n';
          break;
        case 'r':
          text_ += '\r';
          break;
        case 't':
          text_ += '\t';
          break;
        case 'u':
          code_point();
          break;
        default:
          --p_;
          fail("a bad escape inside a string");
      }
    }
    cut_short();
  }

  uint32_t hex4() {
    if (end_ - p_ < 4) cut_short();
    uint32_t value = 0;
    for (int k = 0; k < 4; ++k, ++p_) {
      char c = *p_;
      int digit = is_digit(c)              ? c - '0'
                  : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                  : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                           : -1;
      if (digit < 0) fail("a bad \\u escape");
      value = value * 16 + static_cast<uint32_t>(digit);
    }
    return value;
  }

  // After "\u": the code point, a surrogate pair joined, as UTF-8. A lone
  // surrogate becomes U+FFFD.
  void code_point() {
    uint32_t cp = hex4();
    if (cp >= 0xD800 && cp < 0xDC00 && end_ - p_ >= 2 && p_[0] == '\\' && p_[1] == 'u') {
      const char* back = p_;
      p_ += 2;
      uint32_t low = hex4();
      if (low >= 0xDC00 && low < 0xE000) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
      } else {
        p_ = back;  // not its pair: read on its own
      }
    }
    if (cp >= 0xD800 && cp < 0xE000) cp = 0xFFFD;
    auto put = [this](uint32_t b) { text_ += static_cast<char>(b); };
    if (cp < 0x80) {
      put(cp);
    } else if (cp < 0x800) {
      put(0xC0 | cp >> 6);
      put(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      put(0xE0 | cp >> 12);
      put(0x80 | (cp >> 6 & 0x3F));
      put(0x80 | (cp & 0x3F));
    } else {
      put(0xF0 | cp >> 18);
      put(0x80 | (cp >> 12 & 0x3F));
      put(0x80 | (cp >> 6 & 0x3F));
      put(0x80 | (cp & 0x3F));
    }
  }

  const char* begin_;
  const char* p_;
  const char* end_;
  JsonHandler& handler_;
  const std::string& source_;
  std::vector<char> open_;    // '{' or '[' of each container not closed yet
  bool just_opened_ = false;  // the innermost has no member yet
  std::string text_;          // a string with escapes, unescaped
};

}  // namespace

void scan_json(std::string_view text, JsonHandler& handler, const std::string& source) {
  Scanner(text, handler, source).run();
}

}  // namespace vramscope::trace
