// What every sample shares: reading its options and checking CUDA calls.
//
// A failed call prints "<sample>: <call> failed: <error name>" and exits 1;
// bad options print one line and exit 2; --help prints the usage and exits 0.
#pragma once

#include <cuda_runtime_api.h>
#include <errno.h>

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "formats/human_size.h"

namespace sample {

// The program's own name (glibc keeps it), so messages need no global of ours.
inline const char* program() { return program_invocation_short_name; }

[[noreturn]] inline void fail(const char* call, const char* error_name) {
  std::fflush(stdout);
  std::fprintf(stderr, "%s: %s failed: %s\n", program(), call, error_name);
  std::exit(1);
}

inline void check(cudaError_t error, const char* call) {
  if (error != cudaSuccess) fail(call, cudaGetErrorName(error));
}

class CommandLine {
 public:
  CommandLine(int argc, char** argv, const char* usage) : usage_(usage) {
    for (int i = 1; i < argc; ++i) args_.emplace_back(argv[i]);
    used_.assign(args_.size(), false);
    if (flag("--help") || flag("-h")) {
      std::printf("%s", usage_);
      std::exit(0);
    }
  }

  bool flag(std::string_view name) {
    for (size_t i = 0; i < args_.size(); ++i) {
      if (!used_[i] && args_[i] == name) return used_[i] = true;
    }
    return false;
  }

  // A whole number, at least minimum.
  uint64_t count(std::string_view name, uint64_t fallback, uint64_t minimum = 1) {
    std::string text;
    if (!value(name, text)) return fallback;
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size() || n < minimum) bad(name, text);
    return n;
  }

  // A byte count as people write it: 4096, 64MiB, 1.5GiB.
  uint64_t size(std::string_view name, uint64_t fallback) {
    std::string text;
    if (!value(name, text)) return fallback;
    auto bytes = vramscope::parse_size(text);
    if (!bytes || *bytes == 0) bad(name, text);
    return *bytes;
  }

  std::string choice(std::string_view name, std::string fallback,
                     std::initializer_list<std::string_view> allowed) {
    std::string text;
    if (!value(name, text)) return fallback;
    for (auto a : allowed) {
      if (text == a) return text;
    }
    bad(name, text);
  }

  // Call after reading every option: anything left over is a mistake.
  void finish() const {
    for (size_t i = 0; i < args_.size(); ++i) {
      if (!used_[i]) {
        std::fprintf(stderr, "%s: unknown argument '%s'\n%s", program(), args_[i].c_str(), usage_);
        std::exit(2);
      }
    }
  }

 private:
  // "--name value" or "--name=value".
  bool value(std::string_view name, std::string& out) {
    for (size_t i = 0; i < args_.size(); ++i) {
      if (used_[i]) continue;
      const std::string& a = args_[i];
      if (a == name) {
        if (i + 1 >= args_.size()) bad(name, "");
        used_[i] = used_[i + 1] = true;
        out = args_[i + 1];
        return true;
      }
      if (a.size() > name.size() && a.compare(0, name.size(), name) == 0 && a[name.size()] == '=') {
        used_[i] = true;
        out = a.substr(name.size() + 1);
        return true;
      }
    }
    return false;
  }

  [[noreturn]] void bad(std::string_view name, const std::string& text) const {
    std::fprintf(stderr, "%s: bad value for %.*s: '%s'\n", program(), static_cast<int>(name.size()),
                 name.data(), text.c_str());
    std::exit(2);
  }

  const char* usage_;
  std::vector<std::string> args_;
  std::vector<bool> used_;
};

}  // namespace sample
