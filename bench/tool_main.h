// The main() of the benchmark programs (the trace generator and the analysis
// and pickle benchmarks), and what their tables share: --help prints the usage; a command-line mistake is one
// line ending "(try --help)" and exit status 2; any other failure one line and 1.
#pragma once

#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

namespace vramscope::bench {

// The median of some timings; 0 for none.
inline double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values.empty() ? 0 : values[values.size() / 2];
}

// A number with this many decimals, as the tables print them.
inline std::string fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

// A command-line mistake, said in one line.
struct UsageError {
  std::string message;
};

// `parse(argc, argv)` gives the options, or nothing for --help; `run(options)`
// gives the exit status.
template <typename Parse, typename Run>
int tool_main(const char* name, const char* usage, int argc, char** argv, Parse parse, Run run) {
  try {
    auto options = parse(argc, argv);
    if (!options) {
      std::fputs(usage, stdout);
      return 0;
    }
    return run(*options);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "%s: %s (try --help)\n", name, e.message.c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", name, e.what());
    return 1;
  }
}

}  // namespace vramscope::bench
