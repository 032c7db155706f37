// libFuzzer target: what the command line prints for any trace bytes. The
// trace is read (its checksums fixed, so that its records get fuzzed) and
// analyzed, then written as `report` and `report --json` write it, as the
// per-rank table, as `diff` with itself, as `check` with every budget, as
// `timeline` (by each grouping, and windows of it) and as `replay` (each
// allocator model, one with PyTorch's settings changed, --scale-batch,
// --fit), text and JSON, and as `export` (each format); the viewer's memory
// map is drawn at two moments. Beyond never crashing, every text must come
// out as a terminal only shows it (the escaping finds nothing left to escape
// in it), every JSON must parse, the exported snapshot must read back, the
// memory map must add up, a diff with itself must find no change, and a
// check's verdict must be its checks'. A failed property aborts, which
// libFuzzer reports as a crash.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "analyzer/analysis.h"
#include "analyzer/budget.h"
#include "analyzer/budget_output.h"
#include "analyzer/diff.h"
#include "analyzer/diff_output.h"
#include "analyzer/export_chrome.h"
#include "analyzer/export_collapsed.h"
#include "analyzer/export_snapshot.h"
#include "analyzer/fragmentation.h"
#include "analyzer/ranks.h"
#include "analyzer/ranks_output.h"
#include "analyzer/replay.h"
#include "analyzer/replay_output.h"
#include "analyzer/replay_scaling.h"
#include "analyzer/report_json.h"
#include "analyzer/report_text.h"
#include "analyzer/text_layout.h"
#include "analyzer/timeline.h"
#include "analyzer/timeline_output.h"
#include "cli/output_file.h"
#include "formats/pickle.h"
#include "formats/snapshot_import.h"
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

void write_timeline(const trace::TraceContents& trace, const analysis::TimelineQuery& query,
                    uint64_t* trace_end = nullptr) {
  analysis::Timeline timeline;
  try {
    timeline = analysis::compute_timeline(trace, query);
  } catch (const std::invalid_argument&) {
    return;  // a query this trace cannot answer (no device memory, an empty window): the user is told
  }
  if (trace_end) *trace_end = timeline.trace_end_ns;
  check_text(analysis::timeline_to_text(timeline));
  check_json(analysis::timeline_to_json(timeline));
}

// The viewer's memory map of `device` at `time_ns`. In each segment with
// block data, the blocks and holes tile it, from its start; the holes add up to
// the free bytes the tracker counted as it went, and the largest is its
// largest.
void check_memory_map(const trace::TraceContents& trace, uint32_t device, uint64_t time_ns) {
  const analysis::DeviceFragmentationMap map = analysis::fragmentation_at(trace, device, time_ns);
  uint64_t free_bytes = 0, largest = 0;
  for (const analysis::SegmentMap& segment : map.segments) {
    if (!segment.has_blocks) continue;
    std::vector<analysis::AddressRange> pieces = segment.blocks;
    pieces.insert(pieces.end(), segment.holes.begin(), segment.holes.end());
    // By offset from the segment's start: a hostile segment may run past 2^64.
    const uint64_t start = segment.range.address;
    std::sort(pieces.begin(), pieces.end(),
              [&](const auto& a, const auto& b) { return a.address - start < b.address - start; });
    uint64_t at = segment.range.address;
    for (const analysis::AddressRange& piece : pieces) {
      if (piece.address != at || piece.size == 0) std::abort();
      at += piece.size;
    }
    if (at != segment.range.address + segment.range.size) std::abort();
    for (const analysis::AddressRange& hole : segment.holes) {
      free_bytes += hole.size;
      largest = std::max(largest, hole.size);
    }
  }
  if (free_bytes != map.figures.total_free_bytes || largest != map.figures.largest_free_bytes) std::abort();
}

// Each grouping over the whole trace, then windows of it as --from, --to,
// --resolution, --top and --device ask for them, placed by the trace's end;
// and the viewer's memory map at the middle and the end.
void write_timelines(const trace::TraceContents& trace) {
  uint64_t end = 0;
  for (analysis::TimelineGrouping by :
       {analysis::TimelineGrouping::None, analysis::TimelineGrouping::Kind, analysis::TimelineGrouping::Site,
        analysis::TimelineGrouping::Category}) {
    analysis::TimelineQuery query;
    query.by = by;
    query.buckets = 50;
    write_timeline(trace, query, by == analysis::TimelineGrouping::None ? &end : nullptr);
  }
  analysis::TimelineQuery late;  // --by site --from <half the run> --top 2
  late.by = analysis::TimelineGrouping::Site;
  late.from_ns = end / 2;
  late.buckets = 20;
  late.top = 2;
  write_timeline(trace, late);
  // --by category --from <a quarter> --to <three quarters> --resolution <a seventh>
  analysis::TimelineQuery middle;
  middle.by = analysis::TimelineGrouping::Category;
  middle.from_ns = end / 4;
  middle.to_ns = end / 4 * 3 + 1;
  middle.resolution_ns = std::max<uint64_t>(1, (*middle.to_ns - *middle.from_ns) / 7);
  write_timeline(trace, middle);
  if (!trace.devices.empty()) {  // --by kind --device <the last listed> --from <nine tenths>
    analysis::TimelineQuery last;
    last.by = analysis::TimelineGrouping::Kind;
    last.device = trace.devices.back().ordinal;
    last.from_ns = end / 10 * 9;
    last.buckets = 10;
    write_timeline(trace, last);
  }
  if (end > 0) {
    const uint32_t device = trace.devices.empty() ? 0 : trace.devices.front().ordinal;
    check_memory_map(trace, device, end / 2);
    check_memory_map(trace, device, end);
  }
}

// `export` in each format. The Chrome trace must parse as JSON, and the
// PyTorch snapshot must read back through our own importer, as memory_viz
// reads it.
void write_exports(const trace::TraceContents& trace) {
  std::ostringstream chrome;
  analysis::ChromeOptions options;
  options.points = 1'000;
  analysis::write_chrome_trace(trace, options, chrome);
  if (!nlohmann::json::accept(chrome.str())) std::abort();
  for (analysis::CollapsedWhat what : {analysis::CollapsedWhat::Peak, analysis::CollapsedWhat::Leaks}) {
    std::ostringstream collapsed;
    try {
      analysis::write_collapsed_stacks(trace, analysis::CollapsedQuery{what, std::nullopt}, collapsed);
    } catch (const std::invalid_argument&) {
      continue;  // no device memory to fold: the user is told
    }
  }
  std::ostringstream snapshot;
  try {
    analysis::write_pytorch_snapshot(trace, snapshot);
  } catch (const std::invalid_argument&) {
    return;  // a device past what a snapshot lists: the user is told
  }
  const std::string pickled = snapshot.str();
  try {
    trace::import_pytorch_snapshot(
        pickle::Document::read(std::vector<uint8_t>(pickled.begin(), pickled.end()), "export.pickle"),
        "export.pickle");
  } catch (const std::exception&) {
    std::abort();
  }
}

// `diff` of the trace with itself: nothing changed, nothing grew.
void write_self_diff(const analysis::Report& report) {
  const analysis::ReportDiff diff = analysis::diff_reports(report, report);
  auto same = [](const analysis::Change& c) { return c.before == c.after; };
  bool unchanged = same(diff.leaked_bytes) && same(diff.failed_allocations) && diff.sites.empty() &&
                   analysis::peaks_grown_above(diff, 0).empty();
  for (const auto& d : diff.devices) unchanged &= same(d.peak);
  for (const auto& k : diff.kinds)
    unchanged &=
        same(k.allocations) && same(k.allocated_bytes) && same(k.peak_bytes) && same(k.live_at_exit_bytes);
  for (const auto& c : diff.categories) unchanged &= same(c.peak_bytes);
  if (!unchanged) std::abort();
  check_text(analysis::diff_to_text(diff));
  check_json(analysis::diff_to_json(diff, 5.0));
}

// `check` with every budget at its smallest, so that each one with a
// figure breaks and names its site; the verdict holds only if every check does.
void write_budget_checks(const analysis::Report& report) {
  analysis::Budgets budgets;
  budgets.max_peak = budgets.max_leak = budgets.max_failed = budgets.max_reserved = budgets.max_growth = 0;
  budgets.max_fragmentation = 0.0;
  const analysis::Verdict verdict = analysis::verdict_of({report, report}, budgets);
  bool all = true;
  for (const analysis::BudgetCheck& c : analysis::check_budgets(report, budgets)) all &= c.passed;
  if (verdict.passed != all) std::abort();
  check_text(analysis::verdict_to_text(verdict));
  check_json(analysis::verdict_to_json(verdict));
}

// A replay is a walk over the requests per model; the fits bisect (about 12
// replays each). Bounded so that an input takes milliseconds, not seconds.
constexpr size_t kMaxReplayed = 20'000;
constexpr size_t kMaxFitted = 2'000;

void write_replay(const analysis::ReplayInput& input, analysis::AllocatorModel model,
                  const analysis::TorchSettings& settings, analysis::ReplayReport report) {
  report.input = &input;
  report.settings = settings;
  report.result = analysis::replay(input, model, settings, input.capacity == 0 ? UINT64_MAX : input.capacity);
  check_text(analysis::replay_text(report));
  check_json(analysis::replay_json(report));
}

void write_replays(const trace::TraceContents& trace) {
  analysis::ReplayInput input;
  try {
    input = analysis::replay_input(trace);
  } catch (const std::invalid_argument&) {
    return;  // nothing to replay: the user is told
  }
  if (input.requests.size() > kMaxReplayed) return;
  analysis::ReplayReport report;
  report.trace = trace.source;
  for (const trace::DeviceInfo& d : trace.devices) {
    if (d.ordinal == input.device) report.device_name = d.name;
  }
  using analysis::AllocatorModel;
  const analysis::TorchSettings defaults;
  for (AllocatorModel model : {AllocatorModel::Torch, AllocatorModel::TorchExpandable,
                               AllocatorModel::CudaAsync, AllocatorModel::Exact})
    write_replay(input, model, defaults, report);

  // max_split_size_mb:256,roundup_power2_divisions:[8:4,16:2,32:2,64:2,128:2,>:8],garbage_collection_threshold:0.6
  analysis::TorchSettings changed;
  changed.max_split_size = uint64_t{256} << 20;
  for (size_t i = 0; i < changed.roundup_power2_divisions.size(); ++i)
    changed.roundup_power2_divisions[i] = i < 4 ? 4 : i < 8 ? 2 : 8;
  changed.garbage_collection_threshold = 0.6;
  if (input.requests.size() <= kMaxFitted) {
    for (AllocatorModel model : {AllocatorModel::Torch, AllocatorModel::CudaAsync})
      report.fits.push_back(
          {analysis::model_name(model), analysis::smallest_capacity(input, model, defaults)});
    report.fits.push_back(
        {"torch (changed)", analysis::smallest_capacity(input, AllocatorModel::Torch, changed)});
  }
  write_replay(input, AllocatorModel::Torch, changed, report);

  analysis::ScaledBatch scaled = analysis::scale_activations(trace, input, 2.0);
  if (scaled.scaled == 0) return;  // no activations told: the user is told
  report.fits.clear();
  report.batch_scale = 2.0;
  report.scaled_allocations = scaled.scaled;
  report.scaled_bytes_before = scaled.bytes_before;
  report.scaled_bytes_after = scaled.bytes_after;
  write_replay(scaled.input, AllocatorModel::Torch, defaults, report);
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
  write_self_diff(report);
  write_budget_checks(report);
  write_timelines(trace);
  write_exports(trace);
  write_replays(trace);
  return 0;
}
