// RankSummary → table and JSON. The JSON carries each trace's whole report;
// the text only the table, since one report per rank would bury the comparison.
#include "analyzer/ranks_output.h"

#include <algorithm>

#include "analyzer/report_json.h"
#include "analyzer/text_layout.h"
#include "formats/human_size.h"

namespace vramscope::analysis {

namespace {

using Json = nlohmann::ordered_json;
using text::printf_string;

constexpr size_t kWidth = 100;

// Trace names differ at their end (rank, pid): cut from the front.
std::string fit_tail(std::string_view raw_name, size_t width) {
  const std::string name = text::one_line(raw_name);
  if (name.size() <= width || width <= 3) return name;
  return "..." + std::string(name.substr(name.size() - (width - 3)));
}

}  // namespace

std::string ranks_to_text(const RankSummary& s) {
  std::string out = printf_string("vramscope report: %zu traces\n", s.rows.size());
  std::string head = printf_string("  %5s  %-16s %8s %11s %11s %7s %5s  ", "rank", "host", "pid", "peak",
                                   "leaked", "oom", "cut");
  out += head + "trace\n";
  for (const RankRow& row : s.rows) {
    std::string rank = row.trace.rank >= 0 ? std::to_string(row.trace.rank) : "-";
    std::string line = printf_string(
        "  %5s  %-16s %8u %11s %11s %7llu %5s  ", rank.c_str(), text::fit(row.trace.host, 16).c_str(),
        row.trace.pid, format_size(row.peak_bytes).c_str(), format_size(row.leaked_bytes).c_str(),
        static_cast<unsigned long long>(row.failed_allocations), row.trace.cut_short ? "yes" : "no");
    out += line + fit_tail(text::basename(row.trace.path), kWidth - line.size()) + "\n";
  }
  out += "\npeak spread: " + format_size(s.peak_spread()) + " (min " + format_size(s.peak_min) + ", max " +
         format_size(s.peak_max);
  if (s.peak_max == 0) out += ", no trace held device memory";
  std::optional<double> ratio = s.peak_ratio();
  out += ratio ? printf_string(", max/min %.2f)\n", *ratio) : std::string(")\n");

  if (!s.first_failure) {
    out += "out of memory: none\n";
    return out;
  }
  const RankRow& row = s.rows[s.first_failure->trace];
  const FailedAllocation& f = s.first_failure->failure;
  uint64_t earliest_start = row.trace.start_unix_ns;
  for (const RankRow& r : s.rows) earliest_start = std::min(earliest_start, r.trace.start_unix_ns);
  out += "first out of memory: " + text::trace_label(row.trace) + " on " + text::one_line(row.trace.host) +
         ", " + text::elapsed(s.first_failure->time_unix_ns - earliest_start) +
         " after the first trace began\n";
  out += "  " + format_size(f.requested_bytes) + " requested, " + f.error_name + ", at " +
         text::site_text(f.site) + "\n";
  out += "  full report: vramscope report " + text::one_line(row.trace.path) + "\n";
  return out;
}

Json ranks_to_json(const std::vector<Report>& reports, const RankSummary& s) {
  Json ranks = Json::array();
  for (const Report& r : reports) ranks.push_back(report_to_json(r));
  Json rows = Json::array();
  for (const RankRow& row : s.rows) {
    rows.push_back(Json{{"path", row.trace.path},
                        {"host", row.trace.host},
                        {"pid", row.trace.pid},
                        {"rank", row.trace.rank},
                        {"peak_bytes", row.peak_bytes},
                        {"leaked_bytes", row.leaked_bytes},
                        {"failed_allocations", row.failed_allocations},
                        {"cut_short", row.trace.cut_short}});
  }
  Json first = nullptr;
  if (s.first_failure) {
    const RankRow& row = s.rows[s.first_failure->trace];
    const FailedAllocation& f = s.first_failure->failure;
    first = Json{{"trace", s.first_failure->trace},
                 {"path", row.trace.path},
                 {"host", row.trace.host},
                 {"pid", row.trace.pid},
                 {"rank", row.trace.rank},
                 {"time_unix_ns", s.first_failure->time_unix_ns},
                 {"time_ns", f.time_ns},
                 {"device", f.device},
                 {"requested_bytes", f.requested_bytes},
                 {"error_name", f.error_name},
                 {"function", f.site.function},
                 {"file", f.site.file},
                 {"line", f.site.line}};
  }
  std::optional<double> ratio = s.peak_ratio();
  Json summary{{"traces", s.rows.size()},
               {"rows", std::move(rows)},
               {"peak_min_bytes", s.peak_min},
               {"peak_max_bytes", s.peak_max},
               {"peak_spread_bytes", s.peak_spread()},
               {"peak_ratio", ratio ? Json(*ratio) : Json(nullptr)},
               {"first_failure", std::move(first)}};
  return Json{
      {"schema_version", kReportSchemaVersion}, {"ranks", std::move(ranks)}, {"summary", std::move(summary)}};
}

}  // namespace vramscope::analysis
