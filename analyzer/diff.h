// `vramscope diff A B`: how the memory of one run differs from another's —
// peaks per device, leaks, failures, kinds, categories, and the sites at the peak.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "analyzer/report.h"

namespace vramscope::analysis {

// A figure in A and in B. Counts and bytes both fit; `change` is B - A.
struct Change {
  uint64_t before = 0;
  uint64_t after = 0;
  // Taken modulo 2^64, so that figures no GPU holds (a corrupt trace's) wrap rather than overflow.
  int64_t change() const { return static_cast<int64_t>(after - before); }
  // Percent of A; none when A is 0 (growth from nothing has no ratio).
  std::optional<double> percent() const;
};

struct DevicePeakChange {
  uint32_t ordinal = 0;  // a device in only one report is 0 bytes in the other
  Change peak;
};

struct KindChange {
  trace::MemoryKind kind = trace::MemoryKind::Device;
  Change allocations;
  Change allocated_bytes;
  Change peak_bytes;
  Change live_at_exit_bytes;
};

// The peak of one category (Report::categories), all devices together.
struct CategoryChange {
  std::string category;
  Change peak_bytes;
};

// Bytes live at the peak at one site (function, file and line), all devices
// together.
struct SiteChange {
  Site site;
  Change bytes;
};

struct ReportDiff {
  std::string before_path;
  std::string after_path;
  std::vector<DevicePeakChange> devices;  // by ordinal
  Change leaked_bytes;
  Change failed_allocations;
  std::vector<KindChange> kinds;           // kinds in either report, in enum order
  std::vector<CategoryChange> categories;  // categories in either report, A's order then B's new ones
  std::vector<SiteChange> sites;           // sites whose bytes changed, largest |change| first
};

ReportDiff diff_reports(const Report& before, const Report& after);

// The devices whose peak grew by more than `percent` (from 0 to anything counts).
std::vector<uint32_t> peaks_grown_above(const ReportDiff& diff, double percent);

}  // namespace vramscope::analysis
