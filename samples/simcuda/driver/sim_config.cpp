// Reading VRAMSCOPE_SIM_CAPACITY, _DEVICES, _GRANULARITY and _OTHER_PROCESS.
#include "sim_config.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "formats/human_size.h"

namespace simcuda {

namespace {

constexpr int kMaxDevices = 64;

// nullopt when the variable is unset or empty: the default applies.
std::optional<std::string_view> env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string_view(value);
}

CUresult reject(const char* name, std::string_view value) {
  std::fprintf(stderr, "simcuda: bad %s '%.*s'\n", name, static_cast<int>(value.size()), value.data());
  return CUDA_ERROR_INVALID_VALUE;
}

bool is_power_of_two(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

}  // namespace

CUresult read_sim_config(SimConfig& config) {
  if (auto text = env("VRAMSCOPE_SIM_DEVICES")) {
    int count = 0;
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), count);
    if (ec != std::errc() || end != text->data() + text->size() || count < 0 || count > kMaxDevices) {
      return reject("VRAMSCOPE_SIM_DEVICES", *text);
    }
    config.devices = count;
  }
  if (auto text = env("VRAMSCOPE_SIM_CAPACITY")) {
    auto bytes = vramscope::parse_size(*text);
    if (!bytes || *bytes == 0) return reject("VRAMSCOPE_SIM_CAPACITY", *text);
    config.capacity = *bytes;
  }
  if (auto text = env("VRAMSCOPE_SIM_GRANULARITY")) {
    // Mappings of physical chunks need page-aligned offsets, hence the 4 KiB floor.
    auto bytes = vramscope::parse_size(*text);
    if (!bytes || !is_power_of_two(*bytes) || *bytes < 4096 || *bytes > (uint64_t{1} << 30)) {
      return reject("VRAMSCOPE_SIM_GRANULARITY", *text);
    }
    config.granularity = *bytes;
  }
  if (auto text = env("VRAMSCOPE_SIM_OTHER_PROCESS")) {
    auto bytes = vramscope::parse_size(*text);
    if (!bytes || *bytes > config.capacity) return reject("VRAMSCOPE_SIM_OTHER_PROCESS", *text);
    config.other_process = *bytes;
  }
  return CUDA_SUCCESS;
}

}  // namespace simcuda
