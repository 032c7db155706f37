// `vramscope export TRACE --format chrome|collapsed|pytorch-snapshot [-o FILE|-]
// [--device N] [--what peak|leaks] [--points N]`: a trace in the form another
// viewer opens (Perfetto, chrome://tracing, flame graphs, PyTorch's memory_viz).
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "analyzer/analysis.h"
#include "analyzer/export_chrome.h"
#include "analyzer/export_collapsed.h"
#include "analyzer/export_snapshot.h"
#include "analyzer/text_layout.h"
#include "cli/arg_cursor.h"
#include "cli/commands.h"
#include "cli/output_file.h"
#include "cli/trace_inputs.h"
#include "formats/human_size.h"

namespace vramscope::cli {

namespace {

namespace fs = std::filesystem;

constexpr const char* kUsage =
    "usage: vramscope export TRACE --format chrome|collapsed|pytorch-snapshot [-o FILE]\n"
    "                        [--device N] [--what peak|leaks] [--points N]\n"
    "\n"
    "Writes a trace in a form the viewers people already use open.\n"
    "\n"
    "formats:\n"
    "  chrome            Chrome trace JSON (.json): per GPU, counter tracks of\n"
    "                    allocated and reserved bytes; failed allocations (with the\n"
    "                    report's verdict) and what is live at exit as instants;\n"
    "                    NVTX ranges as slices on their thread, marks as instants.\n"
    "                    Open it in Perfetto (ui.perfetto.dev: Open trace file) or\n"
    "                    in Chrome at chrome://tracing (Load).\n"
    "  collapsed         collapsed stacks (.folded), one line per call stack with\n"
    "                    its bytes, of what was live at a GPU's peak (--what peak)\n"
    "                    or at exit (--what leaks). Draw it with flamegraph.pl\n"
    "                    (flamegraph.pl --countname bytes F.folded > F.svg), inferno\n"
    "                    (inferno-flamegraph F.folded > F.svg), or open it in\n"
    "                    speedscope (www.speedscope.app).\n"
    "  pytorch-snapshot  a PyTorch memory snapshot pickle (.pickle) that PyTorch's\n"
    "                    memory_viz opens (pytorch.org/memory_viz).\n"
    "\n"
    "options:\n"
    "  --format FORMAT   chrome, collapsed or pytorch-snapshot (required)\n"
    "  -o, --output FILE where to write (default: TRACE's name with the format's\n"
    "                    extension, next to it); '-' writes to standard output\n"
    "  --device N        only this GPU (chrome: its counters, failed allocations\n"
    "                    and leaks; collapsed: default the lowest GPU with a peak\n"
    "                    for --what peak, every GPU for --what leaks)\n"
    "  --what WHAT       collapsed: peak (default) or leaks\n"
    "  --points N        chrome: the most points of each counter track (default\n"
    "                    100000). A GPU with more changes has its time cut in N\n"
    "                    equal parts, each drawn at its highest value: no spike\n"
    "                    vanishes\n"
    "  --help            show this help\n";

enum class Format { Chrome, Collapsed, PytorchSnapshot };

struct ExportOptions {
  std::string trace;
  Format format = Format::Chrome;
  std::optional<std::string> output;
  std::optional<uint32_t> device;
  std::optional<analysis::CollapsedWhat> what;
  std::optional<size_t> points;
};

std::string extension(Format format) {
  switch (format) {
    case Format::Chrome:
      return ".json";
    case Format::Collapsed:
      return ".folded";
    case Format::PytorchSnapshot:
      return ".pickle";
  }
  return ".out";
}

// Returns nullopt when --help was asked for.
std::optional<ExportOptions> parse(const Args& args) {
  ExportOptions options;
  std::vector<std::string> traces;
  std::optional<Format> format;
  ArgCursor cursor(args, "export");
  while (cursor.next()) {
    const std::string& arg = cursor.arg();
    if (arg == "--help" || arg == "-h") return std::nullopt;
    if (arg == "--format") {
      std::string text = cursor.value();
      if (text == "chrome") {
        format = Format::Chrome;
      } else if (text == "collapsed") {
        format = Format::Collapsed;
      } else if (text == "pytorch-snapshot") {
        format = Format::PytorchSnapshot;
      } else {
        throw UsageError{"export: --format wants chrome, collapsed or pytorch-snapshot, not '" + text + "'"};
      }
    } else if (arg == "-o" || arg == "--output") {
      options.output = cursor.value();
    } else if (arg == "--device") {
      options.device = static_cast<uint32_t>(cursor.whole_number());
    } else if (arg == "--what") {
      std::string text = cursor.value();
      options.what = analysis::parse_collapsed_what(text);
      if (!options.what) throw UsageError{"export: --what wants peak or leaks, not '" + text + "'"};
    } else if (arg == "--points") {
      options.points = cursor.whole_number();
      if (*options.points == 0) throw UsageError{"export: --points wants at least 1"};
    } else if (cursor.is_option()) {
      cursor.unknown_option();
    } else {
      traces.push_back(arg);
    }
  }
  const std::string trace_path =
      cursor.only_operand(traces, "trace", "vramscope export TRACE --format FORMAT");
  if (!format) throw UsageError{"export: which format? --format chrome, collapsed or pytorch-snapshot"};
  options.format = *format;
  if (options.what && options.format != Format::Collapsed) {
    throw UsageError{"export: --what is for --format collapsed"};
  }
  if (options.points && options.format != Format::Chrome) {
    throw UsageError{"export: --points is for --format chrome"};
  }
  if (options.device && options.format == Format::PytorchSnapshot) {
    throw UsageError{"export: --device is for --format chrome and collapsed"};
  }
  options.trace = trace_path;
  return options;
}

// TRACE's name with the format's extension, next to it; never the trace itself.
std::string default_output(const std::string& trace, Format format) {
  std::string path = fs::path(trace).replace_extension(extension(format)).string();
  if (path == trace)
    throw UsageError{"export: writing " + path + " would overwrite the trace: name the output with -o"};
  return path;
}

// "1 range", "3 ranges".
std::string counted(uint64_t n, const std::string& thing) {
  return std::to_string(n) + " " + thing + (n == 1 ? "" : "s");
}

// The report's verdict on each failed allocation, in time order.
std::vector<std::string> verdicts(const trace::TraceContents& trace) {
  std::vector<std::string> result;
  for (const analysis::FailedAllocation& f : analysis::analyze_trace(trace).failed_allocations) {
    result.emplace_back(analysis::to_string(f.diagnosis.verdict));
  }
  return result;
}

// Writes the export to `out`; returns what to say of it.
std::string write_export(const trace::TraceContents& trace, const ExportOptions& options, std::ostream& out) {
  switch (options.format) {
    case Format::Chrome: {
      analysis::ChromeOptions chrome;
      chrome.device = options.device;
      chrome.points = options.points.value_or(analysis::kDefaultChromePoints);
      chrome.verdicts = [&] { return verdicts(trace); };
      analysis::ChromeSummary s = analysis::write_chrome_trace(trace, chrome, out);
      std::string said = counted(s.counter_events, "counter point") + ", " + counted(s.slices, "range") +
                         ", " + counted(s.instants, "instant");
      if (!s.thinned_devices.empty())
        said += " (thinned to " + std::to_string(chrome.points) + " points a track)";
      return said + "; open it at ui.perfetto.dev or chrome://tracing";
    }
    case Format::Collapsed: {
      analysis::CollapsedQuery query;
      query.what = options.what.value_or(analysis::CollapsedWhat::Peak);
      query.device = options.device;
      analysis::CollapsedSummary s = analysis::write_collapsed_stacks(trace, query, out);
      std::string said = counted(s.lines, "stack") + ", " + format_size(s.bytes);
      if (query.what == analysis::CollapsedWhat::Peak) {
        said += " live at the peak of GPU " + std::to_string(*s.device) + " (at " +
                analysis::text::elapsed(s.time_ns) + ")";
      } else {
        said += " live at exit";
        if (s.device) said += " on GPU " + std::to_string(*s.device);
      }
      return said + "; draw it with flamegraph.pl or inferno, or open it in speedscope";
    }
    case Format::PytorchSnapshot:
      analysis::write_pytorch_snapshot(trace, out);
      return "open it in PyTorch's memory_viz (pytorch.org/memory_viz) or with torch.cuda._memory_viz";
  }
  return "";
}

// Writes `path` with write(out), returning what it says. A file is written
// beside it and renamed: a failed export leaves no half file. A path that is
// no plain file (a device such as /dev/null, a pipe, a link) is written as it is.
template <typename Write>
std::string write_file_with(const std::string& path, Write&& write) {
  std::error_code error;
  fs::file_status status = fs::symlink_status(path, error);
  bool in_place = fs::exists(status) && !fs::is_regular_file(status);
  std::string target = in_place ? path : path + ".partial";
  std::ofstream file(target, std::ios::binary | std::ios::trunc);
  if (!file) throw UsageError{"cannot write " + path + ": " + std::strerror(errno), 1};
  std::string said;
  try {
    said = write(file);
    file.close();
    if (!file) throw UsageError{"cannot write " + path + ": " + std::strerror(errno), 1};
  } catch (...) {
    if (!in_place) std::remove(target.c_str());
    throw;
  }
  if (in_place) return said;
  fs::rename(target, path, error);
  if (error) {
    std::remove(target.c_str());
    throw UsageError{"cannot write " + path + ": " + error.message(), 1};
  }
  return said;
}

}  // namespace

int export_command(const Args& args) {
  std::optional<ExportOptions> options = parse(args);
  if (!options) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  trace::TraceContents trace = trace::read_any_trace(options->trace);
  try {
    if (options->output == "-") {
      write_export(trace, *options, std::cout);
      std::cout.flush();
      if (!std::cout) throw UsageError{"export: cannot write to standard output", 1};
      return 0;
    }
    // Not value_or: the default is refused for a trace it would overwrite, even when -o is given.
    std::string path = options->output ? *options->output : default_output(options->trace, options->format);
    std::string said =
        write_file_with(path, [&](std::ostream& out) { return write_export(trace, *options, out); });
    std::error_code error;
    std::string wrote = "wrote " + analysis::text::one_line(path);
    if (fs::is_regular_file(path, error)) wrote += " (" + format_size(fs::file_size(path, error)) + ")";
    print_text(wrote + ": " + said + "\n");
    return 0;
  } catch (const std::invalid_argument& e) {
    throw UsageError{std::string("export: ") + e.what()};
  }
}

}  // namespace vramscope::cli
