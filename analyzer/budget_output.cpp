// Verdict → text and JSON. The JSON keeps every trace's figures; the text
// names only what a reader must act on.
#include "analyzer/budget_output.h"

#include "analyzer/report_json.h"
#include "analyzer/text_layout.h"
#include "formats/human_size.h"

namespace vramscope::analysis {

namespace {

using Json = nlohmann::ordered_json;

constexpr size_t kTracesNamed = 8;  // broken traces named on a line before "and N more"

std::string amount(BudgetName name, uint64_t value) {
  return counts_bytes(name) ? format_size(value) : std::to_string(value);
}

std::string figure(BudgetName name, uint64_t value) {
  switch (name) {
    case BudgetName::MaxPeak:
      return "peak " + amount(name, value);
    case BudgetName::MaxLeak:
      return "leaked " + amount(name, value);
    case BudgetName::MaxFailed:
      return "failed allocations " + amount(name, value);
  }
  return amount(name, value);
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
  out += several
             ? std::to_string(verdict.traces.size()) + " traces\n"
             : (verdict.traces.empty() ? std::string("no trace") : verdict.traces.front().trace.path) + "\n";
  size_t broken = 0;
  for (const BudgetOutcome& b : verdict.budgets) {
    std::string line = text::printf_string("  %-11s %-7s ", to_string(b.name), b.passed ? "ok" : "BROKEN");
    line += figure(b.name, b.value) + " (limit " + amount(b.name, b.limit) + ")";
    if (!b.passed) {
      ++broken;
      if (several) {
        line += " in " + traces_named(verdict, b.broken_by) + "; worst " +
                text::trace_label(verdict.traces[b.worst_trace].trace);
      }
      if (b.site) line += ": " + text::site_text(*b.site);
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
                           {"limit", b.limit},
                           {"value", b.value},
                           {"passed", b.passed},
                           {"site", site_json(b.site)},
                           {"worst_trace", b.worst_trace},
                           {"broken_by", b.broken_by}});
  }
  Json traces = Json::array();
  for (const TraceVerdict& t : verdict.traces) {
    Json checks = Json::array();
    for (const BudgetCheck& c : t.checks) {
      checks.push_back(Json{{"name", to_string(c.name)},
                            {"limit", c.limit},
                            {"value", c.value},
                            {"passed", c.passed},
                            {"site", site_json(c.site)}});
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
