// JSON read token by token into a handler as it comes (SAX), building
// nothing: nlohmann::json's SAX parser, whose events the importers take
// through this narrower interface. Internal to formats/.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace vramscope::trace {

// A string's view lasts until the next call; a number's `text` is as written.
class JsonHandler {
 public:
  virtual ~JsonHandler() = default;
  virtual void null() = 0;
  virtual void boolean(bool value) = 0;
  virtual void integer(int64_t value) = 0;
  virtual void unsigned_integer(uint64_t value) = 0;  // past int64's range
  // With a fraction or an exponent, or past uint64's range.
  virtual void number(double value, std::string_view text) = 0;
  virtual void string(std::string_view value) = 0;
  virtual void key(std::string_view name) = 0;
  virtual void start_object() = 0;
  virtual void end_object() = 0;
  virtual void start_array() = 0;
  virtual void end_array() = 0;
};

// The one JSON value of `text` (a byte-order mark and white space around it
// allowed), token by token. Throws TraceError naming `source`: "not valid
// JSON at byte N: why", or that the JSON ends early. Nests as deep as memory
// allows: the parser keeps its own stack, no recursion.
void scan_json(std::string_view text, JsonHandler& handler, const std::string& source);

}  // namespace vramscope::trace
