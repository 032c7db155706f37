// `vramscope report TRACE [--json FILE] [--top N]`: reads a trace, analyzes it
// and prints the text report, the JSON report, or both.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "analyzer/analysis.h"
#include "analyzer/report_json.h"
#include "analyzer/report_text.h"
#include "cli/commands.h"
#include "formats/trace_reader.h"

namespace vramscope::cli {

namespace {

constexpr const char* kUsage =
    "usage: vramscope report TRACE [--json FILE] [--top N]\n"
    "\n"
    "Prints what a trace shows: the peak of device memory and what was live then,\n"
    "what was still live at exit, failed allocations, and totals by kind, thread\n"
    "and API call.\n"
    "\n"
    "options:\n"
    "  --json FILE   also write the report as JSON to FILE; '-' writes it to\n"
    "                standard output instead of the text report\n"
    "  --top N       sites and leak groups shown in the text report (default 10;\n"
    "                the JSON has them all)\n"
    "  --help        show this help\n";

struct ReportOptions {
  std::string trace_path;
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
  bool have_trace = false;
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
    } else if (have_trace) {
      throw UsageError{"report: one trace at a time, got '" + options.trace_path + "' and '" + arg + "'"};
    } else {
      options.trace_path = arg;
      have_trace = true;
    }
  }
  if (!have_trace) {
    throw UsageError{"report: which trace? (usage: vramscope report TRACE [--json FILE] [--top N])"};
  }
  return options;
}

void write_file(const std::string& path, const std::string& text) {
  std::FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) throw UsageError{"cannot write " + path + ": " + std::strerror(errno), 1};
  bool written = std::fwrite(text.data(), 1, text.size(), file) == text.size();
  int write_errno = errno;
  if (std::fclose(file) != 0 && written) {
    written = false;
    write_errno = errno;
  }
  if (!written) throw UsageError{"cannot write " + path + ": " + std::strerror(write_errno), 1};
}

}  // namespace

int report_command(const Args& args) {
  std::optional<ReportOptions> options = parse(args);
  if (!options) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  trace::TraceContents trace = trace::read_trace_file(options->trace_path);
  analysis::Report report = analysis::analyze_trace(trace);

  if (options->json_path) {
    // Replace bytes that are not UTF-8 (a file name, an argument) rather than fail.
    std::string json = analysis::report_to_json(report).dump(
                           2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) +
                       "\n";
    if (*options->json_path == "-") {
      std::fwrite(json.data(), 1, json.size(), stdout);
      return 0;
    }
    write_file(*options->json_path, json);
  }
  std::string text = analysis::report_to_text(report, analysis::TextOptions{options->top});
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

}  // namespace vramscope::cli
