// One walk over the events feeds every pass; stacks are symbolized afterwards,
// and only those the report shows.
#include "analyzer/analysis.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
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
#include "analyzer/replay.h"
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
    leaks.groups.push_back(LeakGroup{group.kind, group.device, group.bytes, group.count, resolved.site,
                                     resolved.frames, group.counted, group.cached});
    if (group.counted) {
      leaks.bytes += group.bytes;
      leaks.count += group.count;
    }
  }
  return leaks;
}

// A framework allocator that cannot serve a request tries the driver, gives
// back what it caches, tries again, and then says so itself. The PyTorch
// merge marks those tries `via` the allocator (formats/snapshot_merge.cpp)
// and puts its notice after them: each try belongs to the next notice of
// that allocator on its device. Walked from the end, so that a trace full
// of tries and no notice costs one pass.
void fold_allocator_attempts(std::vector<FailedAllocation>& failures) {
  std::map<uint32_t, size_t> next_notice;  // by device
  for (size_t i = failures.size(); i-- > 0;) {
    FailedAllocation& f = failures[i];
    if (f.api == trace::Api::cachingAllocator) {
      next_notice[f.device] = i;
      continue;
    }
    if (f.via != trace::Api::cachingAllocator) continue;
    const auto notice = next_notice.find(f.device);
    if (notice == next_notice.end()) continue;  // cut short before the notice: a failure of its own
    f.attempt_of = notice->second;
    failures[notice->second].driver_attempts += 1;
  }
}

std::vector<FailedAllocation> failed_allocations(const FailureLog& log, StackResolver& stacks) {
  std::vector<FailedAllocation> result;
  for (const RecordedFailure& failure : log.failures()) {
    const trace::Event& e = failure.event;
    const ResolvedStack& resolved = stacks.resolve(e.stack);
    result.push_back(FailedAllocation{e.time_ns, e.device, e.kind, e.api, e.via, e.size, e.error,
                                      cuda_error_name(e.error), e.free_bytes, e.total_bytes,
                                      failure.live_bytes, resolved.site, resolved.frames,
                                      FragmentationReport{}, OomDiagnosis{}, std::nullopt, 0});
  }
  fold_allocator_attempts(result);
  return result;
}

// Every pass the walk feeds, and what it saw.
struct Walk {
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

  // Every pass, for any event, after `live` applied it; `event` filled (see filled()).
  void observe(size_t i, const trace::Event& event, const LiveChange& change) {
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
  }
  // The same for nearly every event, each pass told what happened rather
  // than finding out again: an allocation that displaced none,
  [[gnu::always_inline]] void allocated(size_t i, const trace::Event& event, const LiveChange& change) {
    const Allocation& a = change.allocation;
    const trace::MemoryKind kind = a.kind;
    const uint64_t size = a.size;
    peaks.allocated(i, event, kind, a.device, live);
    kinds.allocated(kind, size, live);
    threads.allocated(event.thread, size);
    apis.observe(event);
    counter.allocated();
    lifetimes.allocated(i, a);
    iterations.allocated(i, event);
    const bool at_peak = peaks.just_peaked();
    if (at_peak || !fragments.passes_over(a)) fragments.observe(event, change, live, at_peak);
  }
  // and a free that found its allocation (`recorded`: the Free as its record has it).
  [[gnu::always_inline]] void freed(size_t i, const trace::Event& recorded, const LiveChange& change) {
    const Allocation& a = change.allocation;
    peaks.freed();
    kinds.freed(a.kind);
    threads.freed(recorded.thread);
    apis.observe(recorded);
    counter.freed();
    lifetimes.freed(i, a);
    iterations.freed(i, recorded);
    if (!fragments.passes_over(a)) fragments.observe(filled(recorded, change), change, live, false);
    oom.freed(a);
  }
};

// How far the walk is, from the event it is at. A trace whose records the
// reader checked knows their number; else the chunks walked tell.
double walked_fraction(const trace::TraceContents& trace, size_t event_index) {
  const trace::TraceFileEvents* file = trace.events.file();
  if (file && file->records_deferred && !file->first_walk) {
    return static_cast<double>(file->chunks_walked) /
           static_cast<double>(std::max<size_t>(file->chunks.size(), 1));
  }
  // Records, not events, are known beforehand: near enough for a progress line.
  return static_cast<double>(event_index) / static_cast<double>(std::max<uint64_t>(trace.record_count, 1));
}

void walk_events(const trace::TraceContents& trace, Walk& w, const Progress& progress) {
  uint64_t next_progress = progress ? kProgressEvents : UINT64_MAX;
  walk_live_changes(trace.events, w.live, [&](size_t i, const trace::Event& event, const LiveChange& change) {
    if (i >= next_progress) [[unlikely]] {
      progress(std::min(0.99, walked_fraction(trace, i)));
      next_progress = i + kProgressEvents;
    }
    if (change.what == LiveChange::What::Allocated && !change.displaced) {
      w.allocated(i, event, change);
    } else if (change.what == LiveChange::What::Freed) {
      w.freed(i, event, change);
    } else {
      w.observe(i, event, change);  // filled already: only a Freed change fills an event
    }
    w.last_event_ns = event.time_ns;
    w.event_count = i + 1;
    return true;
  });
}

// What the allocator settings would change, by replaying the tensor requests
// (docs/replay.md): two replays per device, and the smallest capacities by
// bisection for traces short enough to take seconds at most.
void add_replay_figures(Report& report, const trace::TraceContents& trace) {
  constexpr size_t kMaxReplayed = 5'000'000;  // two replays: about a second
  constexpr size_t kMaxFitted = 200'000;  // two bisections of about 12 replays each
  for (DeviceReport& d : report.devices) {
    if (!d.fragmentation.has_block_data) continue;
    ReplayInput in;
    try {
      in = replay_input(trace, d.ordinal);
    } catch (const std::invalid_argument&) {
      continue;
    }
    if (!in.tensor_level || in.requests.size() > kMaxReplayed) continue;
    // The allocator's own failures left out: asked for with no limit they
    // would be served, and one outsized request would be the whole peak.
    std::erase_if(in.requests, [&](const ReplayRequest& r) { return in.alloc_events[r.id] == SIZE_MAX; });
    ReplayFigures f;
    f.requests = in.requests.size();
    f.peak_reserved = replay(in, AllocatorModel::Torch, TorchSettings{}, UINT64_MAX, 0).peak_reserved;
    f.peak_reserved_expandable =
        replay(in, AllocatorModel::TorchExpandable, TorchSettings{}, UINT64_MAX, 0).peak_reserved;
    if (in.requests.size() <= kMaxFitted) {
      f.smallest_capacity = smallest_capacity(in, AllocatorModel::Torch, TorchSettings{});
      f.smallest_capacity_expandable =
          smallest_capacity(in, AllocatorModel::TorchExpandable, TorchSettings{});
    }
    d.replay = f;
  }
}

Report report_of(const trace::TraceContents& trace, Walk& w) {
  FoundIterations found = w.iterations.finish(trace);

  Symbolizer symbolizer(trace.modules);
  StackResolver stacks(trace, symbolizer);
  Report report;
  report.trace = trace_facts(trace, w.event_count, w.last_event_ns);
  report.devices = device_reports(trace, w.peaks, w.lifetimes, w.failures, w.live, stacks);
  report.counts = w.counter.counts();
  report.kinds = w.kinds.totals(w.live);
  report.leaks = leaks_of(w.live, stacks);
  report.failed_allocations = failed_allocations(w.failures, stacks);
  add_fragmentation_and_diagnoses(report, trace, w.fragments, w.oom, w.live, report.trace.duration_ns,
                                  stacks);
  report.threads = w.threads.totals(trace.threads);
  report.apis = w.apis.counts();
  report.forks = w.counter.forks();
  add_iterations_and_categories(report, found, w.lifetimes, w.peaks.peaks(), stacks);
  add_replay_figures(report, trace);
  report.advice = advise(report);
  return report;
}

}  // namespace

Report analyze_trace(const trace::TraceContents& trace, const Progress& progress) {
  auto walk = std::make_unique<Walk>();
  walk_events(trace, *walk, progress);
  return report_of(trace, *walk);
}

Report analyze_trace_file(const std::string& path, const Progress& progress, trace::TraceContents& read) {
  try {
    read = trace::read_trace_file(path, trace::RecordCheck::OnFirstWalk);
    auto walk = std::make_unique<Walk>();
    walk_events(read, *walk, progress);
    trace::finish_first_walk(read);
    return report_of(read, *walk);
  } catch (const trace::RecordsNeedChecking&) {
    // A record not as the writer makes it: the checked read says what is wrong, or reads around it.
    read = trace::read_trace_file(path);
    return analyze_trace(read, progress);
  }
}

Report analyze_trace_file(const std::string& path, const Progress& progress) {
  trace::TraceContents read;
  return analyze_trace_file(path, progress, read);
}

}  // namespace vramscope::analysis
