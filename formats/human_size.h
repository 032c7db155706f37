// Sizes the way people write them: "512MiB", "1.5 GiB", "4096".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vramscope {

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
