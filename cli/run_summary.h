// The short summary `vramscope run` prints when the job ends.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace vramscope::cli {

// The traces a run left: the main one first (if it exists), then those of
// other processes (forks, ranks) named after it.
std::vector<std::string> traces_of_run(const std::string& main_trace);

void print_run_summary(const std::string& main_trace, FILE* out);

}  // namespace vramscope::cli
