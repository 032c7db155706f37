// Report against report: devices matched by ordinal, kinds by kind, sites by
// function, file and line (modules and addresses differ between builds).
#include "analyzer/diff.h"

#include <algorithm>
#include <map>
#include <tuple>

namespace vramscope::analysis {

namespace {

using SiteKey = std::tuple<std::string, std::string, uint32_t>;

std::map<SiteKey, std::pair<Site, uint64_t>> bytes_at_peak_by_site(const Report& report) {
  std::map<SiteKey, std::pair<Site, uint64_t>> sites;
  for (const DeviceReport& d : report.devices) {
    for (const SiteBytes& s : d.peak.sites) {
      auto [slot, inserted] =
          sites.try_emplace(SiteKey{s.site.function, s.site.file, s.site.line}, s.site, 0);
      slot->second.second += s.bytes;
    }
  }
  return sites;
}

uint64_t magnitude(int64_t value) {
  return value < 0 ? static_cast<uint64_t>(-(value + 1)) + 1 : static_cast<uint64_t>(value);
}

}  // namespace

std::optional<double> Change::percent() const {
  if (before == 0) return std::nullopt;
  return static_cast<double>(change()) * 100.0 / static_cast<double>(before);
}

ReportDiff diff_reports(const Report& before, const Report& after) {
  ReportDiff diff;
  diff.before_path = before.trace.path;
  diff.after_path = after.trace.path;

  std::map<uint32_t, Change> peaks;
  for (const DeviceReport& d : before.devices) peaks[d.ordinal].before = d.peak.bytes;
  for (const DeviceReport& d : after.devices) peaks[d.ordinal].after = d.peak.bytes;
  for (const auto& [ordinal, change] : peaks) diff.devices.push_back(DevicePeakChange{ordinal, change});

  diff.leaked_bytes = Change{before.leaks.bytes, after.leaks.bytes};
  diff.failed_allocations =
      Change{failed_request_count(before.failed_allocations), failed_request_count(after.failed_allocations)};

  std::map<trace::MemoryKind, KindChange> kinds;
  for (const KindTotals& k : before.kinds) {
    KindChange& c = kinds[k.kind];
    c.allocations.before = k.allocations;
    c.allocated_bytes.before = k.allocated_bytes;
    c.peak_bytes.before = k.peak_bytes;
    c.live_at_exit_bytes.before = k.live_at_exit_bytes;
  }
  for (const KindTotals& k : after.kinds) {
    KindChange& c = kinds[k.kind];
    c.allocations.after = k.allocations;
    c.allocated_bytes.after = k.allocated_bytes;
    c.peak_bytes.after = k.peak_bytes;
    c.live_at_exit_bytes.after = k.live_at_exit_bytes;
  }
  for (auto& [kind, change] : kinds) {
    change.kind = kind;
    diff.kinds.push_back(change);
  }

  for (const CategoryTotals& c : before.categories.totals) {
    diff.categories.push_back(CategoryChange{c.category, Change{c.peak_bytes, 0}});
  }
  for (const CategoryTotals& c : after.categories.totals) {
    auto same = std::find_if(diff.categories.begin(), diff.categories.end(),
                             [&](const CategoryChange& known) { return known.category == c.category; });
    if (same == diff.categories.end()) {
      diff.categories.push_back(CategoryChange{c.category, Change{0, c.peak_bytes}});
    } else {
      same->peak_bytes.after = c.peak_bytes;
    }
  }

  auto sites_before = bytes_at_peak_by_site(before);
  auto sites_after = bytes_at_peak_by_site(after);
  std::map<SiteKey, SiteChange> sites;
  for (const auto& [key, entry] : sites_before) sites[key] = SiteChange{entry.first, Change{entry.second, 0}};
  for (const auto& [key, entry] : sites_after) {
    auto [slot, inserted] = sites.try_emplace(key, SiteChange{entry.first, Change{}});
    slot->second.bytes.after = entry.second;
  }
  for (const auto& [key, change] : sites) {
    if (change.bytes.change() != 0) diff.sites.push_back(change);
  }
  // Ties keep the (function, file, line) order of the map: the same inputs give the same diff.
  std::stable_sort(diff.sites.begin(), diff.sites.end(), [](const SiteChange& a, const SiteChange& b) {
    return magnitude(a.bytes.change()) > magnitude(b.bytes.change());
  });
  return diff;
}

std::vector<uint32_t> peaks_grown_above(const ReportDiff& diff, double percent) {
  std::vector<uint32_t> grown;
  for (const DevicePeakChange& d : diff.devices) {
    std::optional<double> growth = d.peak.percent();
    bool grew = growth ? *growth > percent : d.peak.after > 0;
    if (grew) grown.push_back(d.ordinal);
  }
  return grown;
}

}  // namespace vramscope::analysis
