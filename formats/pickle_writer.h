// Writes plain data as a protocol-4 Python pickle, in memory: None, bools,
// integers up to 64 bits, floats, strings, lists, tuples and dicts. Frames of
// about 64 KiB as CPython writes them, and each string written again is a
// reference to its first copy (the memo), so Python's pickle.load and our
// own reader (pickle.h) both read the result.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace vramscope::pickle {

// Values are written in order; inside a dict, a key then its value. Nesting
// mistakes (a key without a value, an end that does not match its begin,
// finishing with a container open) throw std::logic_error.
class Writer {
 public:
  Writer();

  void none();
  void boolean(bool value);
  void integer(int64_t value);
  void unsigned_integer(uint64_t value);  // 2^63 and more as LONG1
  void number(double value);
  void string(std::string_view value);
  void key(std::string_view name) { string(name); }

  void begin_list();
  void end_list();
  void begin_tuple();
  void end_tuple();
  void begin_dict();
  void end_dict();

  // The whole pickle; the writer is empty afterwards.
  std::string finish();

 private:
  enum class Kind : uint8_t { List, Tuple, Dict };
  struct Open {
    Kind kind;
    uint64_t batch = 0;  // items since the last APPENDS/SETITEMS
  };
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  void begin(Kind kind, std::string_view opcodes);
  void end(Kind kind, char opcode);
  void item_written();  // after each whole value: batches and frames
  void commit_frame();

  std::string out_;    // PROTO and the frames so far
  std::string frame_;  // the frame being filled
  std::vector<Open> open_;
  uint64_t top_values_ = 0;
  std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>> memo_;
};

}  // namespace vramscope::pickle
