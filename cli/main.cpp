// `vramscope`: dispatches to the subcommands.
#include <cstdio>
#include <exception>
#include <string>

#include "cli/commands.h"
#include "cli/output_file.h"

namespace {

constexpr const char* kUsage =
    "usage: vramscope <command> [options]\n"
    "\n"
    "GPU memory profiler and leak analyzer.\n"
    "\n"
    "commands:\n"
    "  run      run a program under the profiler and write a trace\n"
    "  report   print what a trace shows: peak, leaks, failed allocations\n"
    "  check    hold traces to budgets (peak, leaks, failures): the CI gate\n"
    "  diff     compare the memory of two runs\n"
    "  timeline allocated and reserved memory over time, by kind, site or category\n"
    "  import   read a PyTorch memory snapshot or profiler trace into a vramscope trace\n"
    "  export   write a trace for Perfetto, chrome://tracing, flame graphs or memory_viz\n"
    "  replay   rerun a trace's requests through a model of an allocator: would it fit?\n"
    "  view     open a trace in the desktop viewer, or render a view of it to PNG\n"
    "\n"
    "Run 'vramscope <command> --help' for a command's options.\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace vramscope::cli;
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  std::string command = argv[1];
  Args args(argv + 2, argv + argc);
  try {
    if (command == "--help" || command == "-h" || command == "help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (command == "--version") {
      std::puts("vramscope 0.1.0");
      return 0;
    }
    if (command == "run") return run_command(args);
    if (command == "report") return report_command(args);
    if (command == "check") return check_command(args);
    if (command == "diff") return diff_command(args);
    if (command == "timeline") return timeline_command(args);
    if (command == "import") return import_command(args);
    if (command == "export") return export_command(args);
    if (command == "replay") return replay_command(args);
    if (command == "view") return view_command(args);
    print_message("unknown command '" + command + "' (try 'vramscope --help')");
    return 2;
  } catch (const UsageError& e) {
    print_message(e.message);
    return e.status;
  } catch (const std::exception& e) {
    print_message(e.what());
    return 1;
  }
}
