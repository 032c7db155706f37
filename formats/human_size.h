// Sizes the way people write them: "512MiB", "1.5 GiB", "4096".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vramscope {

// A decimal number and the unit after it, with the spaces around and between
// them dropped: "1.5 GiB" gives {"1.5", "GiB", true}. Nullopt when the text
// does not start with a digit or a dot and a digit.
struct NumberAndUnit {
  std::string_view number;  // digits, at most one dot
  std::string_view unit;    // what follows, maybe empty
  bool fraction = false;    // the number has a dot
};
std::optional<NumberAndUnit> split_number_and_unit(std::string_view text);

// Parses a byte count with an optional unit: B, K/KB/KiB, M/MB/MiB, G/GB/GiB,
// T/TB/TiB (case-insensitive, binary: 1K = 1024), spaces allowed before the
// unit, a fraction allowed ("1.5GiB"). Returns nullopt for anything else,
// including negative numbers and values that overflow 64 bits.
std::optional<uint64_t> parse_size(std::string_view text);

// "0 B", "1023 B", "1.00 KiB", "512.00 MiB", "1.50 GiB".
std::string format_size(uint64_t bytes);

// Signed variant for differences: "+1.00 MiB", "-512 B".
std::string format_size_delta(int64_t bytes);

}  // namespace vramscope
