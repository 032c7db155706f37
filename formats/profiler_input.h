// What the torch.profiler importers share: a file's bytes, gunzipped when
// gzip, and the JSON numbers and names they read, converted with checks.
// Internal to formats/: kineto_import.h is the interface.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "formats/kineto_import.h"

namespace vramscope::trace::profiler_input {

// The whole file; throws TraceError for one that cannot be read.
std::vector<uint8_t> read_file(const std::string& path);

// The first bytes of a file (up to `limit`), gunzipped when it is gzip; empty
// when it cannot be read. Never throws: for guessing what a file is.
std::string read_head(const std::string& path, size_t limit);

bool is_gzip(std::span<const uint8_t> bytes);

// The text of `bytes`: gunzipped when gzip (every member of a multi-member
// file), else as they are. Throws TraceError for damaged or cut-short gzip
// data, and for data that would unpack past what deflate can make of it
// (1032 bytes a byte) or past kMaxTextBytes.
std::string unpack(std::span<const uint8_t> bytes, const std::string& source);
inline constexpr uint64_t kMaxTextBytes = uint64_t{16} << 30;

// A JSON scalar as the SAX parser hands it over; Composite for an object or
// array where a scalar was looked for.
struct JsonScalar {
  enum class Type : uint8_t { Missing, Null, Bool, Int, Unsigned, Float, String, Composite };
  Type type = Type::Missing;
  int64_t i = 0;
  uint64_t u = 0;
  double d = 0;
  std::string text;  // a string's value, or a float's text as written

  bool present() const { return type != Type::Missing; }
  void clear() { type = Type::Missing; }
};

// The integer a scalar holds exactly (a float with no fraction counts);
// nullopt for anything else or one out of int64's range.
std::optional<int64_t> as_int(const JsonScalar& value);
// Likewise for uint64.
std::optional<uint64_t> as_uint(const JsonScalar& value);
// Microseconds, as Chrome traces count time (integers or decimals, written
// with up to nanosecond digits), in nanoseconds, exactly; nullopt for a
// non-number or one whose nanoseconds leave int64.
std::optional<int64_t> as_nanoseconds(const JsonScalar& value);
// An id as text (pid and tid are numbers or strings): "" for anything else.
std::string as_key(const JsonScalar& value);

// The name of a JSON scalar's type, for messages.
std::string_view type_name(const JsonScalar& value);

// The importers, from text already unpacked; `file_bytes` is the file's size.
TraceContents import_kineto_text(const std::string& text, const std::string& source, uint64_t file_bytes,
                                 ProfilerImportNotes* notes);
TraceContents import_memory_timeline_text(const std::string& text, const std::string& source,
                                          uint64_t file_bytes, ProfilerImportNotes* notes);

}  // namespace vramscope::trace::profiler_input
