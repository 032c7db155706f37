// The `vramscope` subcommands. Each takes the arguments after its name and
// returns the process exit status.
#pragma once

#include <string>
#include <vector>

namespace vramscope::cli {

using Args = std::vector<std::string>;

int run_command(const Args& args);
int report_command(const Args& args);
int check_command(const Args& args);
int diff_command(const Args& args);
int timeline_command(const Args& args);
int import_command(const Args& args);
int export_command(const Args& args);
int replay_command(const Args& args);
// Replaces this process with the viewer; returns only by throwing.
int view_command(const Args& args);

// A command-line mistake or a failure the user can act on: main() prints
// "vramscope: <message>" on one line and exits with `status`.
struct UsageError {
  std::string message;
  int status = 2;
};

}  // namespace vramscope::cli
