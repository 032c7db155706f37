// The OOM verdict rules, the facts they read, and the replay that gives each
// site's live bytes over the run before a failure.
#include "analyzer/oom_diagnosis.h"

#include <algorithm>
#include <map>
#include <string>
#include <unordered_map>

#include "analyzer/cuda_errors.h"
#include "formats/human_size.h"

namespace vramscope::analysis {

std::string_view to_string(OomVerdict verdict) {
  switch (verdict) {
    case OomVerdict::NotOutOfMemory:
      return "not out of memory";
    case OomVerdict::AnotherProcess:
      return "another process";
    case OomVerdict::Fragmentation:
      return "fragmentation";
    case OomVerdict::OutsizedRequest:
      return "outsized request";
    case OomVerdict::Leak:
      return "leak";
    case OomVerdict::OverSubscription:
      return "over-subscription";
  }
  return "over-subscription";
}

namespace {

uint64_t minus(uint64_t a, uint64_t b) { return a > b ? a - b : 0; }

// A leak climbs all through the run: higher at the end of every quarter.
bool climbs(const SiteTrend& t) {
  return t.quarters[0] < t.quarters[1] && t.quarters[1] < t.quarters[2] && t.quarters[2] < t.at_failure;
}

}  // namespace

OomEvidence evidence_of(const OomFacts& f) {
  OomEvidence e;
  e.allocated_bytes = f.allocated_bytes;
  e.reserved_bytes = f.reserved_bytes;
  e.outside_process_bytes = minus(minus(f.total_bytes, f.free_bytes), f.reserved_bytes);
  e.largest_free_bytes = f.largest_free_bytes;
  e.total_free_bytes = f.total_free_bytes;
  e.shortfall_bytes = minus(f.requested_bytes, f.free_bytes);
  return e;
}

RuledVerdict rule_verdict(const OomFacts& f, const std::vector<SiteTrend>& sites) {
  if (!is_out_of_memory(f.error)) return {OomVerdict::NotOutOfMemory, -1};
  OomEvidence e = evidence_of(f);
  uint64_t outside = minus(e.outside_process_bytes, kGranularitySlack * f.live_segments);
  if (outside > 0 && outside >= e.shortfall_bytes && outside >= f.total_bytes / 10) {
    return {OomVerdict::AnotherProcess, -1};
  }
  if (f.has_block_data && f.total_free_bytes >= f.requested_bytes && f.requested_bytes > f.largest_free_bytes) {
    return {OomVerdict::Fragmentation, -1};
  }
  bool over_half = f.total_bytes > 0 && f.requested_bytes > f.total_bytes / 2;
  if (over_half || (f.requested_bytes > f.reserved_bytes && f.free_bytes < f.requested_bytes)) {
    return {OomVerdict::OutsizedRequest, -1};
  }
  // A job that never freed anything was filling memory, not leaking it.
  if (f.freed_before && f.allocated_bytes > 0) {
    for (size_t i = 0; i < sites.size(); ++i) {
      if (climbs(sites[i]) && sites[i].at_failure * 2 >= f.allocated_bytes) {
        return {OomVerdict::Leak, static_cast<int>(i)};
      }
    }
  }
  return {OomVerdict::OverSubscription, -1};
}

void OomWitness::note_freed(std::pair<uint32_t, bool> key) {
  freed_.insert(key);
  last_freed_ = key;
}

void OomWitness::observe_failure(size_t index, const trace::Event& event, const LiveMemory& live,
                                 const FragmentationTracker& fragments) {
  FragmentationFigures figures = fragments.figures(event.device, live);
  OomFacts f;
  f.requested_bytes = event.size;
  f.error = event.error;
  f.total_bytes = event.total_bytes;
  f.free_bytes = event.free_bytes;
  f.has_block_data = fragments.has_block_data(event.device);
  f.reserved_bytes = live.device_bytes(event.device);
  f.allocated_bytes = f.has_block_data ? figures.block_bytes : f.reserved_bytes;
  f.live_segments = live.device_allocations(event.device);
  f.total_free_bytes = figures.total_free_bytes;
  f.largest_free_bytes = figures.largest_free_bytes;
  f.freed_before = freed_.count({event.device, f.has_block_data}) != 0;
  failures_.push_back(Failure{index, event.time_ns, event.device, f, figures});
}

namespace {

// Live bytes per stack of the allocated kind, keyed by device, block? and
// stack in one word (key_of), hashed: a replay updates it at every event.
struct StackLive {
  uint64_t bytes = 0;  // unsigned: a hostile trace's sizes may sum past 2^63
  int64_t count = 0;
};
using RunningLive = std::unordered_map<uint64_t, StackLive>;
// What was live at one moment: the stacks with bytes live, in no order.
using LiveByStack = std::vector<std::pair<uint64_t, StackLive>>;

uint64_t key_of(uint32_t device, bool block, uint32_t stack) {
  return uint64_t{device} << 33 | uint64_t{block} << 32 | stack;
}

bool is_allocated_kind(trace::MemoryKind kind) {
  return kind == trace::MemoryKind::Block || is_segment_kind(kind);
}

void count(RunningLive& live, const Allocation& a, int64_t sign) {
  if (!is_allocated_kind(a.kind)) return;
  StackLive& entry = live[key_of(a.device, a.kind == trace::MemoryKind::Block, a.stack.value)];
  entry.bytes = sign > 0 ? entry.bytes + a.size : entry.bytes - a.size;
  entry.count += sign;
}

LiveByStack live_now(const RunningLive& running) {
  LiveByStack live;
  for (const auto& entry : running) {
    if (entry.second.count > 0 && entry.second.bytes > 0) live.push_back(entry);
  }
  return live;
}

// Snapshots of the live bytes per stack at each event index asked for
// (before that event).
std::map<size_t, LiveByStack> replay(const trace::EventLog& events, const std::vector<size_t>& points) {
  std::map<size_t, LiveByStack> snapshots;
  if (points.empty()) return snapshots;
  for (size_t p : points) snapshots[p];
  LiveMemory memory;
  RunningLive live;
  auto next = snapshots.begin();
  events.for_each_until(snapshots.rbegin()->first, [&](size_t i, const trace::Event& e) {
    while (next != snapshots.end() && next->first == i) (next++)->second = live_now(live);
    const LiveChange& change = memory.apply(e);
    if (change.displaced) count(live, *change.displaced, -1);
    if (change.what == LiveChange::What::Allocated) count(live, change.allocation, +1);
    if (change.what == LiveChange::What::Freed) count(live, change.allocation, -1);
  });
  return snapshots;
}

struct SiteSeries {
  SiteBytes now;  // at the failure
  uint64_t example_bytes = 0;
  uint64_t example_key = 0;  // of the stack kept as the example: of equal bytes, the lowest key's
  SiteTrend trend;
};

// The failure's sites with their trends, by bytes at the failure descending.
std::vector<SiteSeries> site_series(const std::map<size_t, LiveByStack>& snapshots, const OomWitness::Failure& f,
                                    uint32_t device, StackResolver& stacks) {
  std::map<std::string, SiteSeries> by_site;
  size_t points[4] = {f.index / 4, f.index / 2, f.index / 4 * 3, f.index};
  const uint64_t wanted = key_of(device, f.facts.has_block_data, 0);
  for (int q = 0; q < 4; ++q) {
    for (const auto& [key, live] : snapshots.at(points[q])) {
      if ((key & ~uint64_t{UINT32_MAX}) != wanted) continue;
      const ResolvedStack& resolved = stacks.resolve(trace::StackId{static_cast<uint32_t>(key)});
      SiteSeries& series = by_site[site_key(resolved.site)];
      uint64_t bytes = live.bytes;
      if (q < 3) {
        series.trend.quarters[q] += bytes;
        continue;
      }
      series.trend.at_failure += bytes;
      series.now.bytes += bytes;
      series.now.count += static_cast<uint64_t>(live.count);
      if (series.example_bytes == 0 || bytes > series.example_bytes ||
          (bytes == series.example_bytes && key < series.example_key)) {
        series.now.site = resolved.site;
        series.now.stack = resolved.frames;
        series.example_bytes = bytes;
        series.example_key = key;
      }
    }
  }
  std::vector<SiteSeries> result;
  for (auto& [key, series] : by_site) {
    if (series.now.bytes > 0) result.push_back(std::move(series));
  }
  std::stable_sort(result.begin(), result.end(), [](const SiteSeries& a, const SiteSeries& b) {
    return a.now.bytes != b.now.bytes ? a.now.bytes > b.now.bytes : a.now.count > b.now.count;
  });
  return result;
}

std::string percent(uint64_t part, uint64_t whole) {
  return std::to_string(whole ? part * 100 / whole : 0) + "%";
}

std::string explain(OomVerdict verdict, const OomFacts& f, const OomEvidence& e, const SiteBytes* top) {
  std::string request = format_size(f.requested_bytes) + " request";
  switch (verdict) {
    case OomVerdict::NotOutOfMemory:
      return "The " + request + " failed with " + cuda_error_name(f.error) +
             ", not for lack of memory: " + format_size(f.free_bytes) + " of the device's " +
             format_size(f.total_bytes) + " was free.";
    case OomVerdict::AnotherProcess:
      return format_size(e.outside_process_bytes) + " of the device's " + format_size(f.total_bytes) +
             " was held outside this process, more than the " + format_size(e.shortfall_bytes) + " the " +
             request + " lacked.";
    case OomVerdict::Fragmentation:
      return "The " + request + " failed with " + format_size(f.total_free_bytes) +
             " free inside this process's segments, but the largest free hole was " +
             format_size(f.largest_free_bytes) + ".";
    case OomVerdict::OutsizedRequest:
      return "The " + request + " alone is more than half the device's " + format_size(f.total_bytes) +
             " or more than all " + format_size(f.reserved_bytes) + " this process held, with " +
             format_size(f.free_bytes) + " free.";
    case OomVerdict::Leak:
      return (top ? top->site.function : std::string("one site")) + " grew in every quarter of the run to " +
             format_size(top ? top->bytes : 0) + ", " + percent(top ? top->bytes : 0, f.allocated_bytes) +
             " of the " + format_size(f.allocated_bytes) + " allocated when the " + request + " failed.";
    case OomVerdict::OverSubscription:
      break;
  }
  std::string text = "This process held " + format_size(f.reserved_bytes) + " of the device's " +
                     format_size(f.total_bytes) + " (" + format_size(f.allocated_bytes) +
                     " allocated) when the " + request + " failed with " + format_size(f.free_bytes) + " free";
  if (top) text += "; most of it from " + top->site.function + " (" + format_size(top->bytes) + ")";
  return text + ".";
}

constexpr size_t kSitesShown = 5;

}  // namespace

std::vector<OomDiagnosis> diagnose_failures(const trace::TraceContents& trace, const OomWitness& witness,
                                            StackResolver& stacks) {
  std::vector<size_t> points;
  for (const OomWitness::Failure& f : witness.failures()) {
    for (size_t p : {f.index / 4, f.index / 2, f.index / 4 * 3, f.index}) points.push_back(p);
  }
  std::map<size_t, LiveByStack> snapshots = replay(trace.events, points);

  std::vector<OomDiagnosis> result;
  for (const OomWitness::Failure& f : witness.failures()) {
    std::vector<SiteSeries> series = site_series(snapshots, f, f.device, stacks);
    std::vector<SiteTrend> trends;
    for (const SiteSeries& s : series) trends.push_back(s.trend);
    RuledVerdict ruled = rule_verdict(f.facts, trends);

    OomDiagnosis d;
    d.verdict = ruled.verdict;
    d.evidence = evidence_of(f.facts);
    if (ruled.leak_site >= 0) {
      d.sites.push_back(series[static_cast<size_t>(ruled.leak_site)].now);
    } else if (ruled.verdict != OomVerdict::NotOutOfMemory) {
      for (size_t i = 0; i < series.size() && i < kSitesShown; ++i) d.sites.push_back(series[i].now);
    }
    const SiteSeries* grew = nullptr;
    uint64_t most = 0;
    for (const SiteSeries& s : series) {
      const uint64_t growth =
          s.trend.at_failure > s.trend.quarters[0] ? s.trend.at_failure - s.trend.quarters[0] : 0;
      if (growth > most) {
        most = growth;
        grew = &s;
      }
    }
    if (grew && ruled.verdict != OomVerdict::NotOutOfMemory)
      d.grew = SiteGrowth{grew->now.site, most, grew->now.bytes};
    d.explanation = explain(d.verdict, f.facts, d.evidence, d.sites.empty() ? nullptr : &d.sites.front());
    result.push_back(std::move(d));
  }
  return result;
}

void add_fragmentation_and_diagnoses(Report& report, const trace::TraceContents& trace,
                                     const FragmentationWatch& fragments, const OomWitness& witness,
                                     const LiveMemory& live, uint64_t end_ns, StackResolver& stacks) {
  for (DeviceReport& device : report.devices) {
    DeviceFragmentation& f = device.fragmentation;
    f.has_block_data = fragments.tracker().has_block_data(device.ordinal);
    if (auto at = fragments.at_peak().find(device.ordinal); at != fragments.at_peak().end()) {
      f.at_peak = fragmentation_report(at->second.figures, at->second.time_ns);
    }
    if (auto at = fragments.worst().find(device.ordinal); at != fragments.worst().end()) {
      f.worst = fragmentation_report(at->second.figures, at->second.time_ns);
    }
    if (f.has_block_data)
      f.at_end = fragmentation_report(fragments.tracker().figures(device.ordinal, live), end_ns);
  }
  std::vector<OomDiagnosis> diagnoses = diagnose_failures(trace, witness, stacks);
  for (size_t i = 0; i < diagnoses.size() && i < report.failed_allocations.size(); ++i) {
    const OomWitness::Failure& failure = witness.failures()[i];
    report.failed_allocations[i].fragmentation = fragmentation_report(failure.fragmentation, failure.time_ns);
    report.failed_allocations[i].diagnosis = std::move(diagnoses[i]);
  }
}

}  // namespace vramscope::analysis
