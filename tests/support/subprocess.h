// Runs a program and collects its output and exit status: for the
// integration tests and the benchmarks, which drive vramscope from outside.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace vramscope::testing {

struct ProcessResult {
  int exit_status = -1;  // the exit code, or 128 + signal
  bool signaled = false;
  int signal = 0;
  bool timed_out = false;  // killed, with every process of its group, at timeout_seconds
  std::string out;
  std::string err;
};

struct ProcessOptions {
  std::map<std::string, std::string> set_env;  // added to (or replacing in) this process's environment
  std::vector<std::string> unset_env;
  std::string working_directory;
  // When set, the child gets VRAMSCOPE_MAIN_PID=<its own pid>, as `vramscope run` does.
  bool mark_main_process = false;
  // When set, the program runs in a process group of its own, and the group is
  // killed (SIGKILL) after this many seconds: a test of a deadlock ends.
  int timeout_seconds = 0;
};

// Throws std::runtime_error when the program cannot be started.
ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options = {});

}  // namespace vramscope::testing
