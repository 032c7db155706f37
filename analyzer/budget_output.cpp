// Verdict → text and JSON. The JSON keeps every trace's figures; the text
// names only what a reader must act on.
#include "analyzer/budget_output.h"

#include <algorithm>
#include <cstring>

#include "analyzer/report_json.h"
#include "analyzer/text_layout.h"
#include "formats/human_size.h"

namespace vramscope::analysis {

namespace {

using Json = nlohmann::ordered_json;

constexpr size_t kTracesNamed = 8;  // broken traces named on a line before "and N more"

std::string amount(BudgetName name, double value) {
  switch (measure_of(name)) {
    case Measure::Bytes:
      return format_size(static_cast<uint64_t>(value));
    case Measure::Count:
      return std::to_string(static_cast<uint64_t>(value));
    case Measure::Ratio:
      return text::printf_string("%.2f", value);
  }
  return std::to_string(value);
}

std::string figure(BudgetName name, double value) {
  switch (name) {
    case BudgetName::MaxPeak:
      return "peak " + amount(name, value);
    case BudgetName::MaxReserved:
      return "reserved " + amount(name, value);
    case BudgetName::MaxLeak:
      return "leaked " + amount(name, value);
    case BudgetName::MaxGrowth:
      return "growth " + amount(name, value) + " per iteration";
    case BudgetName::MaxFailed:
      return "out-of-memory failures " + amount(name, value);
    case BudgetName::MaxFragmentation:
      return "fragmentation " + amount(name, value);
  }
  return amount(name, value);
}

// Bytes and counts as JSON integers, ratios as numbers.
Json figure_json(BudgetName name, double value) {
  if (measure_of(name) == Measure::Ratio) return Json(value);
  return Json(static_cast<uint64_t>(value));
}

Json moment_json(const std::optional<BudgetMoment>& at) {
  if (!at) return nullptr;
  return Json{{"device", at->device}, {"time_ns", at->time_ns}};
}

std::string traces_named(const Verdict& verdict, const std::vector<size_t>& indices) {
  std::string text;
  for (size_t i = 0; i < indices.size() && i < kTracesNamed; ++i) {
    text += (i ? ", " : "") + text::trace_label(verdict.traces[indices[i]].trace);
  }
  if (indices.size() > kTracesNamed)
    text += " and " + std::to_string(indices.size() - kTracesNamed) + " more";
  return text;
}

Json site_json(const std::optional<Site>& site) {
  if (!site) return nullptr;
  return Json{{"function", site->function}, {"file", site->file}, {"line", site->line}};
}

}  // namespace

std::string verdict_to_text(const Verdict& verdict) {
  bool several = verdict.traces.size() > 1;
  std::string out = "vramscope check: ";
  out += several ? std::to_string(verdict.traces.size()) + " traces\n"
                 : (verdict.traces.empty() ? std::string("no trace")
                                           : text::one_line(verdict.traces.front().trace.path)) +
                       "\n";
  // Names in a column as wide as the longest asked for, at least "max_failed".
  int name_width = 11;
  for (const BudgetOutcome& b : verdict.budgets) {
    name_width = std::max(name_width, static_cast<int>(std::strlen(to_string(b.name))));
  }
  size_t broken = 0;
  for (const BudgetOutcome& b : verdict.budgets) {
    std::string line =
        text::printf_string("  %-*s %-7s ", name_width, to_string(b.name), b.passed ? "ok" : "BROKEN");
    line += figure(b.name, b.value) + " (limit " + amount(b.name, b.limit) + ")";
    if (!b.passed) {
      ++broken;
      if (several) {
        line += " in " + traces_named(verdict, b.broken_by) + "; worst " +
                text::trace_label(verdict.traces[b.worst_trace].trace);
      }
      if (b.site) line += ": " + text::site_text(*b.site);
      if (b.at) line += text::printf_string(": device %u at ", b.at->device) + text::elapsed(b.at->time_ns);
    }
    out += line + "\n";
  }
  if (broken == 0) {
    out += text::printf_string("check passed: %zu budget%s held\n", verdict.budgets.size(),
                               verdict.budgets.size() == 1 ? "" : "s");
  } else {
    out += text::printf_string("check failed: %zu of %zu budget%s broken\n", broken, verdict.budgets.size(),
                               verdict.budgets.size() == 1 ? "" : "s");
  }
  return out;
}

Json verdict_to_json(const Verdict& verdict) {
  Json budgets = Json::array();
  for (const BudgetOutcome& b : verdict.budgets) {
    budgets.push_back(Json{{"name", to_string(b.name)},
                           {"limit", figure_json(b.name, b.limit)},
                           {"value", figure_json(b.name, b.value)},
                           {"passed", b.passed},
                           {"site", site_json(b.site)},
                           {"at", moment_json(b.at)},
                           {"worst_trace", b.worst_trace},
                           {"broken_by", b.broken_by}});
  }
  Json traces = Json::array();
  for (const TraceVerdict& t : verdict.traces) {
    Json checks = Json::array();
    for (const BudgetCheck& c : t.checks) {
      checks.push_back(Json{{"name", to_string(c.name)},
                            {"limit", figure_json(c.name, c.limit)},
                            {"value", figure_json(c.name, c.value)},
                            {"passed", c.passed},
                            {"site", site_json(c.site)},
                            {"at", moment_json(c.at)}});
    }
    traces.push_back(Json{{"path", t.trace.path},
                          {"host", t.trace.host},
                          {"pid", t.trace.pid},
                          {"rank", t.trace.rank},
                          {"passed", t.passed},
                          {"budgets", std::move(checks)}});
  }
  return Json{{"schema_version", kReportSchemaVersion},
              {"passed", verdict.passed},
              {"budgets", std::move(budgets)},
              {"traces", std::move(traces)}};
}

}  // namespace vramscope::analysis
