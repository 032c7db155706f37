// libFuzzer target for the values the command line parses from text: sizes
// (--simulate=SIZE, budgets), durations (--from, --to, --resolution) and
// PyTorch's roundup_power2_divisions (replay --roundup-power2-divisions).
// Any text either gives the size or duration it says or nullopt, and every
// size format_size prints below 1 PiB (the largest unit parse_size knows is
// TiB) parses back to within the rounding of its two decimals. A divisions
// list gives powers of two (or 0) up to 1024, or a reason; what `replay`
// prints of it reads back as the same 16 intervals.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "analyzer/replay.h"
#include "analyzer/replay_output.h"
#include "formats/duration.h"
#include "formats/human_size.h"

namespace {

using vramscope::format_size;
using vramscope::format_size_delta;
using vramscope::parse_size;

[[noreturn]] void fail(const char* what, std::string_view text, std::optional<uint64_t> got) {
  std::fprintf(stderr, "size_fuzzer: %s: \"%.*s\" gave %s\n", what, static_cast<int>(text.size()),
               text.data(), got ? std::to_string(*got).c_str() : "nullopt");
  std::abort();
}

// The unit's multiplier, written apart from the parser's: B, K, KB, KiB, ...
// TiB in any case; 1 for none.
std::optional<long double> multiplier(std::string_view unit) {
  if (unit.empty()) return 1;
  std::string u;
  for (char c : unit) u.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
  if (u == "b") return 1;
  const char* prefixes = "kmgt";
  for (int i = 0; i < 4; ++i) {
    std::string p(1, prefixes[i]);
    if (u == p || u == p + "b" || u == p + "ib") return std::ldexp(1.0L, 10 * (i + 1));
  }
  return std::nullopt;
}

// The value the text says, in long double (64 bits of mantissa: within one
// of the exact value below 2^64), or nullopt when it is not a size.
std::optional<long double> reference(std::string_view text) {
  std::optional<vramscope::NumberAndUnit> split = vramscope::split_number_and_unit(text);
  if (!split) return std::nullopt;
  std::optional<long double> unit = multiplier(split->unit);
  if (!unit) return std::nullopt;
  return std::strtold(std::string(split->number).c_str(), nullptr) * *unit;
}

void check_parse(std::string_view text) {
  const std::optional<uint64_t> parsed = parse_size(text);
  const std::optional<long double> expected = reference(text);
  if (parsed) {
    if (!expected) fail("a size that is not one", text, parsed);
    // Whole numbers are exact, fractions rounded to the nearest byte.
    if (std::fabs(static_cast<long double>(*parsed) - *expected) > 1.0L) fail("the wrong size", text, parsed);
  } else if (expected && *expected < 1.8e19L) {
    fail("a size refused", text, parsed);
  }
}

// The nanoseconds the text says, apart from the parser: ns, us (µs, μs),
// ms, s; no unit for 0 alone. nullopt when it is not a duration.
std::optional<long double> reference_duration(std::string_view text) {
  std::optional<vramscope::NumberAndUnit> split = vramscope::split_number_and_unit(text);
  if (!split) return std::nullopt;
  const long double value = std::strtold(std::string(split->number).c_str(), nullptr);
  const std::string unit(split->unit);
  if (unit.empty()) return value == 0 ? std::optional<long double>(0) : std::nullopt;
  if (unit == "ns") return value;
  if (unit == "us" || unit == "\u00b5s" || unit == "\u03bcs") return value * 1e3L;
  if (unit == "ms") return value * 1e6L;
  if (unit == "s") return value * 1e9L;
  return std::nullopt;
}

void check_duration(std::string_view text) {
  const std::optional<uint64_t> parsed = vramscope::parse_duration(text);
  const std::optional<long double> expected = reference_duration(text);
  if (parsed) {
    if (!expected) fail("a duration that is not one", text, parsed);
    if (std::fabs(static_cast<long double>(*parsed) - *expected) > 1.0L)
      fail("the wrong duration", text, parsed);
  } else if (expected && *expected < 9.2e18L) {
    fail("a duration refused", text, parsed);
  }
}

void check_divisions(std::string_view text) {
  std::string error;
  const auto divisions = vramscope::analysis::parse_roundup_divisions(std::string(text), error);
  if (!divisions) {
    if (error.empty()) fail("divisions refused with no reason", text, std::nullopt);
    return;
  }
  bool rounds = false;
  for (uint32_t d : *divisions) {
    if (d > 1024 || (d != 0 && (d & (d - 1)) != 0)) fail("divisions that are no power of two", text, d);
    rounds |= d > 1;
  }
  // What `replay` prints of the settings, which a user gives PyTorch.
  vramscope::analysis::TorchSettings settings;
  settings.roundup_power2_divisions = *divisions;
  const std::string printed = vramscope::analysis::settings_text(settings);
  const std::string_view key = "roundup_power2_divisions:";
  if (!rounds) {
    if (!printed.empty()) fail("divisions that round nothing printed", printed, std::nullopt);
    return;
  }
  if (!printed.starts_with(key)) fail("divisions printed without their key", printed, std::nullopt);
  const auto again = vramscope::analysis::parse_roundup_divisions(printed.substr(key.size()), error);
  if (!again || *again != *divisions) fail("divisions printed read back otherwise", printed, std::nullopt);
}

void check_round_trip(uint64_t bytes) {
  const std::string text = format_size(bytes);
  (void)format_size_delta(static_cast<int64_t>(bytes));
  if (bytes >= (uint64_t{1} << 50)) return;  // printed in PiB
  const std::optional<uint64_t> parsed = parse_size(text);
  if (!parsed) fail("format_size's text refused", text, parsed);
  // Two decimals of a value of at least 1 in its unit: within 0.5% of it.
  const uint64_t error = *parsed > bytes ? *parsed - bytes : bytes - *parsed;
  if (bytes < 1024 ? error != 0 : error > bytes / 200 + 1) fail("format_size's text read back", text, parsed);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_parse(text);
  check_duration(text);
  check_divisions(text);
  // The same bytes as a number, at every scale: its top bits shifted out.
  uint64_t bytes = 0;
  std::memcpy(&bytes, data, size < sizeof bytes ? size : sizeof bytes);
  for (int shift = 0; shift < 64; shift += 9) check_round_trip(bytes >> shift);
  return 0;
}
