// `vramscope report TRACE... [--json FILE] [--top N]`: reads traces, analyzes
// them and prints the text report, the JSON report, or both. One trace gets
// the full report; several (or a directory of them) the per-rank summary.
#include <cstdio>
#include <optional>
#include <string>

#include "analyzer/ranks.h"
#include "analyzer/ranks_output.h"
#include "analyzer/report_json.h"
#include "analyzer/report_text.h"
#include "cli/commands.h"
#include "cli/output_file.h"
#include "cli/trace_inputs.h"

namespace vramscope::cli {

namespace {

constexpr const char* kUsage =
    "usage: vramscope report TRACE... [--json FILE] [--top N]\n"
    "\n"
    "Prints what a trace shows: the peak of device memory and what was live then,\n"
    "what was still live at exit, failed allocations, and totals by kind, thread\n"
    "and API call.\n"
    "\n"
    "Given several traces, or a directory (every *.vstrace in it: the ranks of a\n"
    "job run under 'vramscope run -o DIR/'), prints a row per trace, the spread\n"
    "of peaks between them and the one that failed an allocation first.\n"
    "\n"
    "options:\n"
    "  --json FILE   also write the report as JSON to FILE; '-' writes it to\n"
    "                standard output instead of the text report\n"
    "  --top N       sites and leak groups shown in the text report of one trace\n"
    "                (default 10; the JSON has them all)\n"
    "  --help        show this help\n";

struct ReportOptions {
  Args inputs;
  std::optional<std::string> json_path;
  size_t top = 10;
};

size_t parse_top(const std::string& text) {
  size_t value = 0;
  bool digits = !text.empty() && text.size() <= 9;
  for (char c : text) {
    if (c < '0' || c > '9')
      digits = false;
    else
      value = value * 10 + static_cast<size_t>(c - '0');
  }
  if (!digits) throw UsageError{"report: --top wants a whole number, not '" + text + "'"};
  return value;
}

// Returns nullopt when --help was asked for.
std::optional<ReportOptions> parse(const Args& args) {
  ReportOptions options;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    std::optional<std::string> inline_value;
    if (arg.starts_with("--") && arg.find('=') != std::string::npos) {
      inline_value = arg.substr(arg.find('=') + 1);
      arg = arg.substr(0, arg.find('='));
    }
    auto value = [&]() -> std::string {
      if (inline_value) return *inline_value;
      if (i + 1 >= args.size())
        throw UsageError{"report: " + arg + " needs a value (try 'vramscope report --help')"};
      return args[++i];
    };
    if (arg == "--help" || arg == "-h") return std::nullopt;
    if (arg == "--json") {
      options.json_path = value();
    } else if (arg == "--top") {
      options.top = parse_top(value());
    } else if (arg.size() > 1 && arg[0] == '-') {
      throw UsageError{"report: unknown option '" + args[i] + "' (try 'vramscope report --help')"};
    } else {
      options.inputs.push_back(arg);
    }
  }
  if (options.inputs.empty()) {
    throw UsageError{"report: which trace? (usage: vramscope report TRACE... [--json FILE] [--top N])"};
  }
  return options;
}

}  // namespace

int report_command(const Args& args) {
  std::optional<ReportOptions> options = parse(args);
  if (!options) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  std::vector<analysis::Report> reports = analyze_traces(expand_trace_inputs(options->inputs));

  nlohmann::ordered_json json;
  std::string text;
  if (reports.size() == 1) {
    if (options->json_path) json = analysis::report_to_json(reports.front());
    text = analysis::report_to_text(reports.front(), analysis::TextOptions{options->top});
  } else {
    analysis::RankSummary summary = analysis::summarize_ranks(reports);
    if (options->json_path) json = analysis::ranks_to_json(reports, summary);
    text = analysis::ranks_to_text(summary);
  }
  if (options->json_path) {
    write_output(*options->json_path, json_text(json));
    if (*options->json_path == "-") return 0;
  }
  print_text(text);
  return 0;
}

}  // namespace vramscope::cli
