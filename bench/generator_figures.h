// The figures vramscope_trace_generator prints on its last line
// ("vramscope_trace_generator: events=... peak_bytes=... (...)"), read back by
// the analysis benchmark and the generator's known-truth test.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>

namespace vramscope::bench {

// Each "key=value" of the generator's summary line in `err`; empty if it is not there.
inline std::map<std::string, uint64_t> generator_figures(const std::string& err) {
  std::map<std::string, uint64_t> figures;
  size_t line = err.rfind("events=");
  if (line == std::string::npos) return figures;
  std::istringstream words(err.substr(line));
  for (std::string word; words >> word;) {
    size_t eq = word.find('=');
    if (eq != std::string::npos) figures[word.substr(0, eq)] = std::strtoull(word.c_str() + eq + 1, nullptr, 10);
  }
  return figures;
}

}  // namespace vramscope::bench
