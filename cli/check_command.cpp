// `vramscope check TRACE... --max-peak SIZE --max-reserved SIZE --max-leak SIZE
// --max-growth SIZE --max-failed N --max-fragmentation F [--json FILE]`: the CI
// gate. Exit 0 when every budget holds in every trace, 1 when one is broken, 2
// for a command-line mistake.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "analyzer/budget.h"
#include "analyzer/budget_output.h"
#include "cli/arg_cursor.h"
#include "cli/commands.h"
#include "cli/output_file.h"
#include "cli/trace_inputs.h"
#include "formats/human_size.h"

namespace vramscope::cli {

namespace {

constexpr const char* kUsage =
    "usage: vramscope check TRACE... [--max-peak SIZE] [--max-reserved SIZE] [--max-leak SIZE]\n"
    "                       [--max-growth SIZE] [--max-failed N] [--max-fragmentation F]\n"
    "                       [--json FILE]\n"
    "\n"
    "Holds the traces to budgets of GPU memory, for CI: exits 0 when every budget\n"
    "holds in every trace, 1 when one is broken (naming the trace and the site\n"
    "responsible), 2 for a command-line mistake. A directory stands for every\n"
    "*.vstrace in it (the ranks of a job). A value equal to its limit holds.\n"
    "\n"
    "budgets (at least one):\n"
    "  --max-peak SIZE          peak of allocated memory (e.g. 20GiB): of the tensor\n"
    "                           blocks when an allocator annotates them, else of\n"
    "                           device memory on any device\n"
    "  --max-reserved SIZE      peak of reserved memory: the allocator's segments\n"
    "                           (device memory) on any device\n"
    "  --max-leak SIZE          memory still live at exit (device, managed, pinned host)\n"
    "  --max-growth SIZE        growth per iteration of the fastest-growing leak\n"
    "  --max-failed N           allocations that ran out of memory\n"
    "  --max-fragmentation F    worst fragmentation of any device, 0 to 1\n"
    "                           (1 - largest free hole / all free bytes)\n"
    "\n"
    "options:\n"
    "  --json FILE              also write the verdict as JSON to FILE; '-' writes\n"
    "                           it to standard output instead of the text\n"
    "  --help                   show this help\n";

struct CheckOptions {
  Args inputs;
  analysis::Budgets budgets;
  std::optional<std::string> json_path;
};

uint64_t size_value(ArgCursor& cursor) {
  std::string flag = cursor.arg();
  std::string text = cursor.value();
  std::optional<uint64_t> size = parse_size(text);
  if (!size) throw UsageError{"check: bad size '" + text + "' for " + flag + " (examples: 20GiB, 512MiB, 0)"};
  return *size;
}

double ratio_value(ArgCursor& cursor) {
  std::string flag = cursor.arg();
  std::string text = cursor.value();
  char* end = nullptr;
  double value = text.empty() ? -1 : std::strtod(text.c_str(), &end);
  if (text.empty() || end == nullptr || *end != 0 || !std::isfinite(value) || value < 0 || value > 1) {
    throw UsageError{"check: " + flag + " wants a number from 0 to 1 such as 0.5, not '" + text + "'"};
  }
  return value;
}

// Returns nullopt when --help was asked for.
std::optional<CheckOptions> parse(const Args& args) {
  CheckOptions options;
  ArgCursor cursor(args, "check");
  while (cursor.next()) {
    const std::string& arg = cursor.arg();
    if (arg == "--help" || arg == "-h") return std::nullopt;
    if (arg == "--max-peak") {
      options.budgets.max_peak = size_value(cursor);
    } else if (arg == "--max-leak") {
      options.budgets.max_leak = size_value(cursor);
    } else if (arg == "--max-failed") {
      options.budgets.max_failed = cursor.whole_number();
    } else if (arg == "--max-reserved") {
      options.budgets.max_reserved = size_value(cursor);
    } else if (arg == "--max-growth") {
      options.budgets.max_growth = size_value(cursor);
    } else if (arg == "--max-fragmentation") {
      options.budgets.max_fragmentation = ratio_value(cursor);
    } else if (arg == "--json") {
      options.json_path = cursor.value();
    } else if (cursor.is_option()) {
      cursor.unknown_option();
    } else {
      options.inputs.push_back(arg);
    }
  }
  if (options.inputs.empty())
    throw UsageError{"check: which trace? (usage: vramscope check TRACE... --max-peak SIZE ...)"};
  if (options.budgets.empty()) {
    throw UsageError{
        "check: no budget given (use --max-peak, --max-reserved, --max-leak, --max-growth, --max-failed "
        "or --max-fragmentation)"};
  }
  return options;
}

}  // namespace

int check_command(const Args& args) {
  std::optional<CheckOptions> options = parse(args);
  if (!options) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  std::vector<analysis::Report> reports = analyze_traces(expand_trace_inputs(options->inputs));
  analysis::Verdict verdict = analysis::verdict_of(reports, options->budgets);
  int status = verdict.passed ? 0 : 1;
  if (options->json_path) {
    write_output(*options->json_path, json_text(analysis::verdict_to_json(verdict)));
    if (*options->json_path == "-") return status;
  }
  std::string text = analysis::verdict_to_text(verdict);
  print_text(text);
  return status;
}

}  // namespace vramscope::cli
