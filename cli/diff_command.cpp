// `vramscope diff A B [--fail-above PCT] [--json FILE]`: what changed in GPU
// memory from run A to run B. Exit 1 when a peak grew by more than PCT percent.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "analyzer/diff.h"
#include "analyzer/diff_output.h"
#include "cli/arg_cursor.h"
#include "cli/commands.h"
#include "cli/output_file.h"
#include "cli/trace_inputs.h"

namespace vramscope::cli {

namespace {

constexpr const char* kUsage =
    "usage: vramscope diff A B [--fail-above PCT] [--json FILE] [--top N]\n"
    "\n"
    "Compares two traces (A before, B after): the peak of each device, the bytes\n"
    "live at exit, failed allocations, totals by kind, and the sites whose bytes\n"
    "at the peak changed most.\n"
    "\n"
    "options:\n"
    "  --fail-above PCT  exit 1 when the peak of any device grew by more than PCT\n"
    "                    percent (from nothing counts as more); else 0\n"
    "  --json FILE       also write the diff as JSON to FILE; '-' writes it to\n"
    "                    standard output instead of the text\n"
    "  --top N           sites shown in the text (default 10; the JSON has all)\n"
    "  --help            show this help\n";

struct DiffOptions {
  std::string before;
  std::string after;
  std::optional<double> fail_above;
  std::optional<std::string> json_path;
  size_t top = 10;
};

double percent_value(const std::string& text) {
  std::string number = text.ends_with("%") ? text.substr(0, text.size() - 1) : text;
  char* end = nullptr;
  double value = number.empty() ? -1 : std::strtod(number.c_str(), &end);
  if (number.empty() || end == nullptr || *end != 0 || !std::isfinite(value) || value < 0) {
    throw UsageError{"diff: --fail-above wants a percentage such as 10 or 2.5, not '" + text + "'"};
  }
  return value;
}

// Returns nullopt when --help was asked for.
std::optional<DiffOptions> parse(const Args& args) {
  DiffOptions options;
  Args traces;
  ArgCursor cursor(args, "diff");
  while (cursor.next()) {
    const std::string& arg = cursor.arg();
    if (arg == "--help" || arg == "-h") return std::nullopt;
    if (arg == "--fail-above") {
      options.fail_above = percent_value(cursor.value());
    } else if (arg == "--json") {
      options.json_path = cursor.value();
    } else if (arg == "--top") {
      options.top = cursor.whole_number();
    } else if (cursor.is_option()) {
      cursor.unknown_option();
    } else {
      traces.push_back(arg);
    }
  }
  if (traces.size() != 2) {
    throw UsageError{"diff: wants two traces, A and B (usage: vramscope diff A B [--fail-above PCT])"};
  }
  options.before = traces[0];
  options.after = traces[1];
  return options;
}

}  // namespace

int diff_command(const Args& args) {
  std::optional<DiffOptions> options = parse(args);
  if (!options) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  std::vector<analysis::Report> reports = analyze_traces({options->before, options->after});
  analysis::ReportDiff diff = analysis::diff_reports(reports[0], reports[1]);
  int status = 0;
  std::string verdict;
  if (options->fail_above) {
    std::vector<uint32_t> grown = analysis::peaks_grown_above(diff, *options->fail_above);
    status = grown.empty() ? 0 : 1;
    for (uint32_t ordinal : grown) {
      char line[128];
      std::snprintf(line, sizeof line, "peak of device %u grew by more than %g%%\n", ordinal,
                    *options->fail_above);
      verdict += line;
    }
  }
  if (options->json_path) {
    write_output(*options->json_path, json_text(analysis::diff_to_json(diff, options->fail_above)));
    if (*options->json_path == "-") return status;
  }
  std::string text = analysis::diff_to_text(diff, options->top) + (verdict.empty() ? "" : "\n" + verdict);
  print_text(text);
  return status;
}

}  // namespace vramscope::cli
