// Parsing and printing of byte counts in human units.
#include "formats/human_size.h"

#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>

namespace vramscope {

namespace {

std::optional<uint64_t> unit_multiplier(std::string_view unit) {
  std::string u;
  for (char c : unit) u.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (u.empty() || u == "b") return 1;
  constexpr std::array<char, 4> prefixes = {'k', 'm', 'g', 't'};
  for (size_t i = 0; i < prefixes.size(); ++i) {
    char p = prefixes[i];
    if (u == std::string(1, p) || u == std::string(1, p) + "b" || u == std::string(1, p) + "ib") {
      return uint64_t{1} << (10 * (i + 1));
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<NumberAndUnit> split_number_and_unit(std::string_view text) {
  auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!text.empty() && space(text.front())) text.remove_prefix(1);
  while (!text.empty() && space(text.back())) text.remove_suffix(1);
  size_t i = 0;
  bool seen_digit = false, seen_dot = false;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      seen_digit = true;
    } else if (c == '.' && !seen_dot) {
      seen_dot = true;
    } else {
      break;
    }
  }
  if (!seen_digit) return std::nullopt;
  NumberAndUnit split{text.substr(0, i), {}, seen_dot};
  while (i < text.size() && space(text[i])) ++i;
  split.unit = text.substr(i);
  return split;
}

std::optional<uint64_t> parse_size(std::string_view text) {
  std::optional<NumberAndUnit> split = split_number_and_unit(text);
  if (!split) return std::nullopt;
  std::string_view number = split->number;
  auto multiplier = unit_multiplier(split->unit);
  if (!multiplier) return std::nullopt;

  if (!split->fraction) {
    uint64_t value = 0;
    for (char c : number) {
      uint64_t digit = static_cast<uint64_t>(c - '0');
      if (value > (UINT64_MAX - digit) / 10) return std::nullopt;
      value = value * 10 + digit;
    }
    if (*multiplier != 0 && value > UINT64_MAX / *multiplier) return std::nullopt;
    return value * *multiplier;
  }
  long double value = std::strtold(std::string(number).c_str(), nullptr) * static_cast<long double>(*multiplier);
  if (!(value >= 0) || value >= 18446744073709551615.0L) return std::nullopt;
  // roundl, not llroundl: from 2^63 up a long long overflows.
  return static_cast<uint64_t>(std::roundl(value));
}

std::string format_size(uint64_t bytes) {
  constexpr std::array<const char*, 6> units = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < units.size()) {
    value /= 1024.0;
    ++unit;
  }
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f %s", value, units[unit]);
  return buffer;
}

std::string format_size_delta(int64_t bytes) {
  uint64_t magnitude = bytes < 0 ? static_cast<uint64_t>(-(bytes + 1)) + 1 : static_cast<uint64_t>(bytes);
  return (bytes < 0 ? "-" : "+") + format_size(magnitude);
}

}  // namespace vramscope
