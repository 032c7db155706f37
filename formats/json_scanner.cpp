// nlohmann::json's SAX parser feeding a JsonHandler, its errors turned into
// one line that names the file and the byte.
#include "formats/json_scanner.h"

#include <nlohmann/json.hpp>

#include "formats/trace_reader.h"

namespace vramscope::trace {

namespace {

using Json = nlohmann::json;

class Forward : public nlohmann::json_sax<Json> {
 public:
  Forward(JsonHandler& handler, std::string_view text, const std::string& source)
      : handler_(handler), text_(text), source_(source) {}

  bool null() override { return handler_.null(), true; }
  bool boolean(bool value) override { return handler_.boolean(value), true; }
  bool number_integer(number_integer_t value) override { return handler_.integer(value), true; }
  bool number_unsigned(number_unsigned_t value) override {
    if (value <= static_cast<uint64_t>(INT64_MAX)) {
      handler_.integer(static_cast<int64_t>(value));
    } else {
      handler_.unsigned_integer(value);
    }
    return true;
  }
  bool number_float(number_float_t value, const string_t& text) override {
    return handler_.number(value, text), true;
  }
  bool string(string_t& value) override { return handler_.string(value), true; }
  bool binary(binary_t&) override { return true; }  // JSON text has none
  bool start_object(std::size_t) override { return handler_.start_object(), true; }
  bool key(string_t& name) override { return handler_.key(name), true; }
  bool end_object() override { return handler_.end_object(), true; }
  bool start_array(std::size_t) override { return handler_.start_array(), true; }
  bool end_array() override { return handler_.end_array(), true; }

  bool parse_error(std::size_t position, const std::string& last_token,
                   const nlohmann::detail::exception& error) override {
    // nlohmann counts the byte it stopped after; ours is the byte it stopped at.
    const size_t at = position > 0 ? position - 1 : 0;
    const std::string what = error.what();
    if (last_token == "<end of input>" || what.find("unexpected end of input") != std::string::npos) {
      throw TraceError(source_ + ": the JSON ends early (byte " + std::to_string(text_.size()) +
                       "): the file is cut short; export it again");
    }
    // "[json.exception.parse_error.101] parse error at line 1, column 18: syntax error while
    // parsing value - invalid literal; last read: '...'": the part after the dash says why.
    std::string why = what;
    if (size_t dash = why.find(" - "); dash != std::string::npos) why = why.substr(dash + 3);
    if (size_t last = why.find("; last read"); last != std::string::npos) why = why.substr(0, last);
    throw TraceError(source_ + ": not valid JSON at byte " + std::to_string(at) + ": " + why);
  }

 private:
  JsonHandler& handler_;
  std::string_view text_;
  const std::string& source_;
};

}  // namespace

void scan_json(std::string_view text, JsonHandler& handler, const std::string& source) {
  Forward forward(handler, text, source);
  Json::sax_parse(text.begin(), text.end(), &forward, nlohmann::detail::input_format_t::json, true);
}

}  // namespace vramscope::trace
