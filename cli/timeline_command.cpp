// `vramscope timeline TRACE [--device N] [--by none|kind|site|category]
// [--buckets N | --resolution DURATION] [--from TIME] [--to TIME] [--top N]
// [--json FILE|-]`: allocated and reserved memory of one device over time.
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "analyzer/timeline.h"
#include "analyzer/timeline_output.h"
#include "cli/arg_cursor.h"
#include "cli/commands.h"
#include "cli/output_file.h"
#include "cli/trace_inputs.h"
#include "formats/duration.h"
#include "formats/trace_reader.h"

namespace vramscope::cli {

namespace {

constexpr const char* kUsage =
    "usage: vramscope timeline TRACE [--device N] [--by none|kind|site|category]\n"
    "                          [--buckets N | --resolution DURATION] [--from TIME] [--to TIME]\n"
    "                          [--top N] [--json FILE]\n"
    "\n"
    "Prints the allocated and reserved memory of one device over time, in equal\n"
    "buckets from --from to --to: a line per bucket with the highest value inside\n"
    "it (a spike never vanishes when zoomed out), and a column per group.\n"
    "Reserved is device memory (what the driver handed out); allocated is the\n"
    "tensor blocks an allocator annotates with NVTX, else the same as reserved.\n"
    "\n"
    "options:\n"
    "  --device N             the device (default: the lowest the trace lists)\n"
    "  --by GROUPING          none (default); kind: device, async pool, virtual\n"
    "                         memory, tensor block; site: where the allocated memory\n"
    "                         was asked for (the --top sites by peak, the rest as\n"
    "                         'other'); category: parameters, gradients, optimizer\n"
    "                         state, activations, ... (as in the report)\n"
    "  --buckets N            how many buckets (default 1000; at most one per ns)\n"
    "  --resolution DURATION  the width of a bucket instead (e.g. 500us, 10ms)\n"
    "  --from TIME            the window's start, since the trace's start (e.g.\n"
    "                         2.5s; default 0)\n"
    "  --to TIME              the window's end (default: the trace's end); after\n"
    "                         the trace's end nothing is held\n"
    "  --top N                sites shown with --by site (default 5)\n"
    "  --json FILE            also write the timeline as JSON to FILE (per bucket the\n"
    "                         highest value and the value at its end); '-' writes it\n"
    "                         to standard output instead of the text\n"
    "  --help                 show this help\n";

struct TimelineOptions {
  std::string trace;
  analysis::TimelineQuery query;
  std::optional<std::string> json_path;
};

uint64_t time_value(ArgCursor& cursor) {
  std::string flag = cursor.arg();
  std::string text = cursor.value();
  std::optional<uint64_t> ns = parse_duration(text);
  if (!ns) {
    throw UsageError{"timeline: bad time '" + text + "' for " + flag + " (examples: 500us, 10ms, 2.5s)"};
  }
  return *ns;
}

// Returns nullopt when --help was asked for.
std::optional<TimelineOptions> parse(const Args& args) {
  TimelineOptions options;
  std::vector<std::string> traces;
  bool buckets_given = false;
  ArgCursor cursor(args, "timeline");
  while (cursor.next()) {
    const std::string& arg = cursor.arg();
    if (arg == "--help" || arg == "-h") return std::nullopt;
    if (arg == "--device") {
      options.query.device = static_cast<uint32_t>(cursor.whole_number());
    } else if (arg == "--by") {
      std::string text = cursor.value();
      std::optional<analysis::TimelineGrouping> by = analysis::parse_grouping(text);
      if (!by) throw UsageError{"timeline: --by wants none, kind, site or category, not '" + text + "'"};
      options.query.by = *by;
    } else if (arg == "--buckets") {
      options.query.buckets = cursor.whole_number();
      if (options.query.buckets == 0) throw UsageError{"timeline: --buckets wants at least 1"};
      buckets_given = true;
    } else if (arg == "--resolution") {
      options.query.resolution_ns = time_value(cursor);
      if (*options.query.resolution_ns == 0) throw UsageError{"timeline: --resolution wants at least 1ns"};
    } else if (arg == "--from") {
      options.query.from_ns = time_value(cursor);
    } else if (arg == "--to") {
      options.query.to_ns = time_value(cursor);
    } else if (arg == "--top") {
      options.query.top = cursor.whole_number();
    } else if (arg == "--json") {
      options.json_path = cursor.value();
    } else if (cursor.is_option()) {
      cursor.unknown_option();
    } else {
      traces.push_back(arg);
    }
  }
  const std::string trace_path = cursor.only_operand(traces, "trace", "vramscope timeline TRACE [options]");
  if (buckets_given && options.query.resolution_ns) {
    throw UsageError{"timeline: --buckets and --resolution both set the buckets: give one"};
  }
  const analysis::TimelineQuery& q = options.query;
  if (q.from_ns && q.to_ns && *q.to_ns <= *q.from_ns) {
    throw UsageError{"timeline: the window is empty: --to must come after --from"};
  }
  options.trace = trace_path;
  return options;
}

}  // namespace

int timeline_command(const Args& args) {
  std::optional<TimelineOptions> options = parse(args);
  if (!options) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  trace::TraceContents trace = trace::read_any_trace(options->trace);
  analysis::Timeline timeline;
  try {
    timeline = analysis::compute_timeline(trace, options->query);
  } catch (const std::invalid_argument& e) {
    throw UsageError{std::string("timeline: ") + e.what()};
  }
  if (options->json_path) {
    write_output(*options->json_path, json_text(analysis::timeline_to_json(timeline)));
    if (*options->json_path == "-") return 0;
  }
  std::string text = analysis::timeline_to_text(timeline);
  print_text(text);
  return 0;
}

}  // namespace vramscope::cli
