// One walk over the events feeds every pass; stacks are symbolized afterwards,
// and only those the report shows.
#include "analyzer/analysis.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "analyzer/advice.h"
#include "analyzer/category_report.h"
#include "analyzer/cuda_errors.h"
#include "analyzer/failure_log.h"
#include "analyzer/fragmentation.h"
#include "analyzer/iterations.h"
#include "analyzer/leak_finder.h"
#include "analyzer/lifetimes.h"
#include "analyzer/live_memory.h"
#include "analyzer/oom_diagnosis.h"
#include "analyzer/peak_tracker.h"
#include "analyzer/stack_resolver.h"
#include "analyzer/tallies.h"

namespace vramscope::analysis {

namespace {

// Events between two progress calls.
constexpr size_t kProgressEvents = 1 << 20;

TraceFacts trace_facts(const trace::TraceContents& trace, uint64_t event_count, uint64_t last_event_ns) {
  TraceFacts facts;
  facts.path = trace.source;
  facts.pid = trace.header.pid;
  facts.parent_pid = trace.header.parent_pid;
  facts.host = trace.header.host;
  facts.rank = trace.header.rank;
  facts.command_line = trace.header.command_line;
  facts.start_unix_ns = trace.header.start_unix_ns;
  facts.cut_short = trace.cut_short;
  facts.cut_short_reason = trace.cut_short_reason;
  facts.end = trace.end;
  facts.duration_ns = std::max(last_event_ns, trace.end ? trace.end->time_ns : 0);
  facts.event_count = event_count;
  facts.record_bytes = trace.record_bytes;
  facts.file_bytes = trace.file_bytes;
  if (event_count != 0) {
    facts.bytes_per_event = static_cast<double>(trace.record_bytes) / static_cast<double>(event_count);
  }
  return facts;
}

std::vector<SiteBytes> sites_of(const BytesByStack& by_stack_unordered, StackResolver& stacks) {
  // In stack order, so that ties between sites resolve the same way every run.
  std::map<uint32_t, StackBytes> by_stack(by_stack_unordered.begin(), by_stack_unordered.end());
  struct SiteEntry {
    SiteBytes site;
    uint64_t stack_bytes = 0;  // bytes of the stack kept as the example
  };
  std::map<std::string, SiteEntry> by_site;
  for (const auto& [stack_id, entry] : by_stack) {
    if (entry.count == 0) continue;
    const ResolvedStack& resolved = stacks.resolve(trace::StackId{stack_id});
    auto [slot, inserted] = by_site.try_emplace(site_key(resolved.site));
    SiteEntry& site = slot->second;
    site.site.bytes += entry.bytes;
    site.site.count += entry.count;
    if (inserted || entry.bytes > site.stack_bytes) {
      site.site.site = resolved.site;
      site.site.stack = resolved.frames;
      site.stack_bytes = entry.bytes;
    }
  }
  std::vector<SiteBytes> result;
  for (auto& [key, entry] : by_site) result.push_back(std::move(entry.site));
  std::stable_sort(result.begin(), result.end(), [](const SiteBytes& a, const SiteBytes& b) {
    return a.bytes != b.bytes ? a.bytes > b.bytes : a.count > b.count;
  });
  return result;
}

std::vector<DeviceReport> device_reports(const trace::TraceContents& trace, const PeakTracker& peaks,
                                         const LifetimeLog& lifetimes, const FailureLog& failures,
                                         const LiveMemory& live, StackResolver& stacks) {
  const std::map<uint32_t, BytesByStack> stacks_at_peak = stacks_at_peaks(lifetimes, peaks.peaks());
  std::map<uint32_t, DeviceReport> devices;
  for (const trace::DeviceInfo& info : trace.devices) {
    DeviceReport& device = devices[info.ordinal];
    device.name = info.name;
    device.simulated = info.simulated;
    device.total_bytes = info.total_bytes;
  }
  for (const auto& [ordinal, peak] : peaks.peaks()) devices[ordinal];
  for (const RecordedFailure& failure : failures.failures()) devices[failure.event.device];

  std::vector<DeviceReport> result;
  for (auto& [ordinal, device] : devices) {
    device.ordinal = ordinal;
    device.live_at_exit_bytes = live.device_bytes(ordinal);
    auto peak = peaks.peaks().find(ordinal);
    if (peak != peaks.peaks().end()) {
      device.peak.bytes = peak->second.bytes;
      device.peak.time_ns = peak->second.time_ns;
      device.peak.live_allocations = peak->second.live_allocations;
      device.peak.sites = sites_of(stacks_at_peak.at(ordinal), stacks);
    }
    result.push_back(std::move(device));
  }
  return result;
}

Leaks leaks_of(const LiveMemory& live, StackResolver& stacks) {
  Leaks leaks;
  for (const LiveGroup& group : group_live_allocations(live)) {
    const ResolvedStack& resolved = stacks.resolve(group.stack);
    leaks.groups.push_back(
        LeakGroup{group.kind, group.device, group.bytes, group.count, resolved.site, resolved.frames});
    if (counts_as_leaked_memory(group.kind)) {
      leaks.bytes += group.bytes;
      leaks.count += group.count;
    }
  }
  return leaks;
}

std::vector<FailedAllocation> failed_allocations(const FailureLog& log, StackResolver& stacks) {
  std::vector<FailedAllocation> result;
  for (const RecordedFailure& failure : log.failures()) {
    const trace::Event& e = failure.event;
    const ResolvedStack& resolved = stacks.resolve(e.stack);
    result.push_back(FailedAllocation{e.time_ns, e.device, e.kind, e.api, e.via, e.size, e.error,
                                      cuda_error_name(e.error), e.free_bytes, e.total_bytes,
                                      failure.live_bytes, resolved.site, resolved.frames,
                                      FragmentationReport{}, OomDiagnosis{}});
  }
  return result;
}

}  // namespace

Report analyze_trace(const trace::TraceContents& trace, const Progress& progress) {
  LiveMemory live;
  PeakTracker peaks;
  KindTally kinds;
  ThreadTally threads;
  ApiTally apis;
  EventCounter counter;
  FailureLog failures;
  LifetimeLog lifetimes;
  FragmentationWatch fragments;
  OomWitness oom;
  IterationFinder iterations;
  uint64_t last_event_ns = 0;
  uint64_t event_count = 0;
  uint64_t next_progress = kProgressEvents;
  walk_with_live_set(trace.events, live, [&](size_t i, const trace::Event& event, const LiveChange& change) {
    if (progress && i >= next_progress) {
      // Records, not events, are known beforehand: near enough for a progress line.
      progress(std::min(
          0.99, static_cast<double>(i) / static_cast<double>(std::max<uint64_t>(trace.record_count, 1))));
      next_progress = i + kProgressEvents;
    }
    peaks.observe(i, event, change, live);
    kinds.observe(event, change, live);
    threads.observe(event, change);
    apis.observe(event);
    counter.observe(event, change);
    failures.observe(event, live);
    lifetimes.observe(i, change);
    iterations.observe(i, event);
    fragments.observe(event, change, live, peaks.just_peaked());
    oom.observe(i, event, change, live, fragments.tracker());
    last_event_ns = event.time_ns;
    event_count = i + 1;
    return true;
  });
  FoundIterations found = iterations.finish(trace);

  Symbolizer symbolizer(trace.modules);
  StackResolver stacks(trace, symbolizer);
  Report report;
  report.trace = trace_facts(trace, event_count, last_event_ns);
  report.devices = device_reports(trace, peaks, lifetimes, failures, live, stacks);
  report.counts = counter.counts();
  report.kinds = kinds.totals(live);
  report.leaks = leaks_of(live, stacks);
  report.failed_allocations = failed_allocations(failures, stacks);
  add_fragmentation_and_diagnoses(report, trace, fragments, oom, stacks);
  report.threads = threads.totals(trace.threads);
  report.apis = apis.counts();
  report.forks = counter.forks();
  add_iterations_and_categories(report, found, lifetimes, peaks.peaks(), stacks);
  report.advice = advise(report);
  return report;
}

}  // namespace vramscope::analysis
