// libFuzzer target: what the command line prints for any trace bytes. The
// trace is read (its checksums fixed, so that its records get fuzzed) and
// analyzed, then written as `report`, `report --json`, the per-rank table
// and `timeline` (by each grouping) write it, text and JSON. Beyond never
// crashing, every text must come out as a terminal only shows it (the
// escaping finds nothing left to escape in it), and every JSON must parse.
// A failed property aborts, which libFuzzer reports as a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "analyzer/analysis.h"
#include "analyzer/ranks.h"
#include "analyzer/ranks_output.h"
#include "analyzer/report_json.h"
#include "analyzer/report_text.h"
#include "analyzer/text_layout.h"
#include "analyzer/timeline.h"
#include "analyzer/timeline_output.h"
#include "cli/output_file.h"
#include "formats/trace_reader.h"
#include "fuzz/trace_checksums.h"

namespace {

using namespace vramscope;

// As print_text shows it: no control character but newline and tab, no DEL,
// no C1 control (U+0080 to U+009F), no mark that turns text right to left;
// and escaping it again changes nothing.
void check_text(const std::string& text) {
  const std::string shown = analysis::text::terminal_text(text);
  for (size_t i = 0; i < shown.size(); ++i) {
    const auto b = static_cast<uint8_t>(shown[i]);
    const auto next = i + 1 < shown.size() ? static_cast<uint8_t>(shown[i + 1]) : 0;
    const auto third = i + 2 < shown.size() ? static_cast<uint8_t>(shown[i + 2]) : 0;
    if ((b < 0x20 && b != '\n' && b != '\t') || b == 0x7f || (b == 0xc2 && next >= 0x80 && next <= 0x9f) ||
        (b == 0xe2 && next == 0x80 && third >= 0xaa && third <= 0xae) ||
        (b == 0xe2 && next == 0x81 && third >= 0xa6 && third <= 0xa9))
      std::abort();
  }
  if (analysis::text::terminal_text(shown) != shown) std::abort();
}

// As the command line writes it; it must read back.
void check_json(const nlohmann::ordered_json& json) {
  if (!nlohmann::ordered_json::accept(cli::json_text(json))) std::abort();
}

void write_timelines(const trace::TraceContents& trace) {
  for (analysis::TimelineGrouping by :
       {analysis::TimelineGrouping::None, analysis::TimelineGrouping::Kind, analysis::TimelineGrouping::Site,
        analysis::TimelineGrouping::Category}) {
    analysis::TimelineQuery query;
    query.by = by;
    query.buckets = 50;
    analysis::Timeline timeline;
    try {
      timeline = analysis::compute_timeline(trace, query);
    } catch (const std::invalid_argument&) {
      continue;  // a query this trace cannot answer (no device memory, an empty window): the user is told
    }
    check_text(analysis::timeline_to_text(timeline));
    check_json(analysis::timeline_to_json(timeline));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes = fuzz::with_checksums_fixed(std::span<const uint8_t>(data, size));
  trace::TraceContents trace;
  analysis::Report report;
  try {
    trace = trace::read_trace_bytes(bytes, "fuzz.vstrace");
    report = analysis::analyze_trace(trace);
  } catch (const trace::TraceError&) {
    return 0;  // damaged or foreign input: the error is the answer (the trace target fuzzes that)
  }
  check_text(analysis::report_to_text(report));
  check_json(analysis::report_to_json(report));
  const std::vector<analysis::Report> ranks{report, report};
  const analysis::RankSummary summary = analysis::summarize_ranks(ranks);
  check_text(analysis::ranks_to_text(summary));
  check_json(analysis::ranks_to_json(ranks, summary));
  write_timelines(trace);
  return 0;
}
