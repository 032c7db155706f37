// ReportDiff → text and JSON. Every figure is "A -> B (change)".
#include "analyzer/diff_output.h"

#include <cinttypes>

#include "analyzer/report_json.h"
#include "analyzer/text_layout.h"
#include "formats/human_size.h"

namespace vramscope::analysis {

namespace {

using Json = nlohmann::ordered_json;
using text::printf_string;

constexpr size_t kWidth = 100;

std::string percent_text(const Change& c) {
  std::optional<double> percent = c.percent();
  if (!percent) return c.after == 0 ? "" : ", new";
  return printf_string(", %+.2f%%", *percent);
}

std::string bytes_change(const Change& c) {
  return format_size(c.before) + " -> " + format_size(c.after) + " (" + format_size_delta(c.change()) +
         percent_text(c) + ")";
}

std::string count_change(const Change& c) {
  return printf_string("%" PRIu64 " -> %" PRIu64 " (%+" PRId64 ")", c.before, c.after, c.change());
}

Json change_json(const Change& c) {
  std::optional<double> percent = c.percent();
  return Json{{"before", c.before},
              {"after", c.after},
              {"change", c.change()},
              {"change_percent", percent ? Json(*percent) : Json(nullptr)}};
}

}  // namespace

std::string diff_to_text(const ReportDiff& diff, size_t top_sites) {
  std::string out =
      "vramscope diff: " + text::one_line(diff.before_path) + " -> " + text::one_line(diff.after_path) + "\n";
  for (const DevicePeakChange& d : diff.devices) {
    out += printf_string("  device %u peak    ", d.ordinal) + bytes_change(d.peak) + "\n";
  }
  out += "  live at exit     " + bytes_change(diff.leaked_bytes) + "\n";
  out += "  failed allocs    " + count_change(diff.failed_allocations) + "\n";

  if (!diff.kinds.empty()) {
    out += "\nKinds (A -> B)\n";
    out += printf_string("  %-26s %-15s %s\n", "kind", "allocs", "peak");
    for (const KindChange& k : diff.kinds) {
      out += printf_string(
          "  %-26s %-15s %s\n", std::string(trace::to_string(k.kind)).c_str(),
          printf_string("%" PRIu64 " -> %" PRIu64, k.allocations.before, k.allocations.after).c_str(),
          bytes_change(k.peak_bytes).c_str());
    }
  }

  if (!diff.categories.empty()) {
    out += "\nCategories, peak (A -> B)\n";
    for (const CategoryChange& c : diff.categories) {
      if (c.peak_bytes.before == 0 && c.peak_bytes.after == 0) continue;  // unused in both: noise
      out += printf_string("  %-26s %s\n", text::one_line(c.category).c_str(),
                           bytes_change(c.peak_bytes).c_str());
    }
  }

  out += "\nSites at the peak, by change\n";
  if (diff.sites.empty()) out += "  no change\n";
  for (size_t i = 0; i < diff.sites.size() && i < top_sites; ++i) {
    const SiteChange& s = diff.sites[i];
    std::string figures =
        printf_string("  %12s  %10s -> %-10s  ", format_size_delta(s.bytes.change()).c_str(),
                      format_size(s.bytes.before).c_str(), format_size(s.bytes.after).c_str());
    out += figures + text::frame_label(s.site, kWidth - figures.size()) + "\n";
  }
  if (diff.sites.size() > top_sites) {
    out += printf_string("  (%zu more sites)\n", diff.sites.size() - top_sites);
  }
  return out;
}

Json diff_to_json(const ReportDiff& diff, std::optional<double> fail_above) {
  Json devices = Json::array();
  for (const DevicePeakChange& d : diff.devices) {
    devices.push_back(Json{{"ordinal", d.ordinal}, {"peak_bytes", change_json(d.peak)}});
  }
  Json kinds = Json::array();
  for (const KindChange& k : diff.kinds) {
    kinds.push_back(Json{{"kind", std::string(trace::to_string(k.kind))},
                         {"allocations", change_json(k.allocations)},
                         {"allocated_bytes", change_json(k.allocated_bytes)},
                         {"peak_bytes", change_json(k.peak_bytes)},
                         {"live_at_exit_bytes", change_json(k.live_at_exit_bytes)}});
  }
  Json categories = Json::array();
  for (const CategoryChange& c : diff.categories) {
    categories.push_back(Json{{"category", c.category}, {"peak_bytes", change_json(c.peak_bytes)}});
  }
  Json sites = Json::array();
  for (const SiteChange& s : diff.sites) {
    sites.push_back(Json{{"function", s.site.function},
                         {"file", s.site.file},
                         {"line", s.site.line},
                         {"bytes", change_json(s.bytes)}});
  }
  Json threshold = nullptr;
  if (fail_above) {
    threshold = Json{{"percent", *fail_above}, {"devices_above", peaks_grown_above(diff, *fail_above)}};
  }
  return Json{{"schema_version", kReportSchemaVersion},
              {"before", diff.before_path},
              {"after", diff.after_path},
              {"devices", std::move(devices)},
              {"leaked_bytes", change_json(diff.leaked_bytes)},
              {"failed_allocations", change_json(diff.failed_allocations)},
              {"kinds", std::move(kinds)},
              {"categories", std::move(categories)},
              {"sites", std::move(sites)},
              {"fail_above", std::move(threshold)}};
}

}  // namespace vramscope::analysis
