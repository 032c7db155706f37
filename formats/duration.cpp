// Parsing of times and durations with units.
#include "formats/duration.h"

#include <cctype>
#include <cmath>
#include <string>

#include "formats/human_size.h"

namespace vramscope {

namespace {

std::optional<uint64_t> nanoseconds_per(std::string_view unit) {
  if (unit == "ns") return 1;
  if (unit == "us" || unit == "\u00b5s" || unit == "\u03bcs") return 1'000;
  if (unit == "ms") return 1'000'000;
  if (unit == "s") return 1'000'000'000;
  return std::nullopt;
}

}  // namespace

std::optional<uint64_t> parse_duration(std::string_view text) {
  std::optional<NumberAndUnit> split = split_number_and_unit(text);
  if (!split) return std::nullopt;
  std::string number(split->number);
  std::string_view unit = split->unit;
  long double value = std::strtold(number.c_str(), nullptr);
  if (unit.empty()) {
    if (value == 0) return 0;
    return std::nullopt;  // "5" could mean any unit
  }
  std::optional<uint64_t> per = nanoseconds_per(unit);
  if (!per) return std::nullopt;
  long double ns = value * static_cast<long double>(*per);
  if (!(ns >= 0) || ns >= 9223372036854775807.0L) return std::nullopt;  // llroundl's range: 292 years
  return static_cast<uint64_t>(std::llroundl(ns));
}

}  // namespace vramscope
