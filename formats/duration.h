// Times and durations the way people write them: "500us", "10ms", "2.5 s".
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace vramscope {

// Nanoseconds from a number with a unit: ns, us (or µs), ms, s; a fraction
// allowed ("2.5s", rounded to the nanosecond), spaces allowed before the
// unit. Only 0 may go without a unit. nullopt for anything else, negative
// numbers and values past 2^63 ns (292 years).
std::optional<uint64_t> parse_duration(std::string_view text);

}  // namespace vramscope
