// Event counts the way people write them on a command line: "200000",
// "200k", "10M", "1.5G" (decimal multiples). Shared by the trace generator and
// the analysis benchmark.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>

namespace vramscope::bench {

// nullopt for anything that is not a whole count below 10^15.
inline std::optional<uint64_t> parse_count(const std::string& text) {
  size_t digits_end = text.find_first_not_of("0123456789.");
  std::string number = text.substr(0, digits_end);
  std::string suffix = digits_end == std::string::npos ? "" : text.substr(digits_end);
  if (number.empty() || number == "." || number.find('.') != number.rfind('.')) return std::nullopt;
  double scale = 1;
  if (suffix == "k" || suffix == "K") {
    scale = 1e3;
  } else if (suffix == "m" || suffix == "M") {
    scale = 1e6;
  } else if (suffix == "g" || suffix == "G") {
    scale = 1e9;
  } else if (!suffix.empty()) {
    return std::nullopt;
  }
  double value = std::strtod(number.c_str(), nullptr) * scale;
  if (value > 1e15 || value != static_cast<double>(static_cast<uint64_t>(value))) return std::nullopt;
  return static_cast<uint64_t>(value);
}

// The short form back: 10000000 -> "10M", 200000 -> "200k", 1234 -> "1234".
inline std::string count_label(uint64_t n) {
  if (n >= 1'000'000 && n % 1'000'000 == 0) return std::to_string(n / 1'000'000) + "M";
  if (n >= 1'000 && n % 1'000 == 0) return std::to_string(n / 1'000) + "k";
  return std::to_string(n);
}

}  // namespace vramscope::bench
