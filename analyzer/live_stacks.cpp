// The live set at each device's peak, and at the end, grouped by stack.
#include "analyzer/live_stacks.h"

#include <algorithm>

#include "analyzer/leak_finder.h"
#include "analyzer/live_memory.h"
#include "analyzer/report.h"

namespace vramscope::analysis {

namespace {

void add(LiveStacks& live, const Allocation& a) {
  StackBytes& entry = live.stacks[a.stack.value];
  entry.bytes += a.size;
  entry.count += 1;
  live.bytes += a.size;
  live.count += 1;
}

}  // namespace

std::map<uint32_t, LiveStacks> live_at_peaks(const trace::TraceContents& trace) {
  PeakTracker peaks;
  {
    LiveMemory live;
    walk_with_live_set(trace.events, live,
                       [&](size_t i, const trace::Event& event, const LiveChange& change) {
                         peaks.observe(i, event, change, live);
                         return true;
                       });
  }
  std::map<uint32_t, LiveStacks> result;
  if (peaks.peaks().empty()) return result;
  // Device by the event index of its peak: the second walk snapshots the
  // live set there, and stops after the last.
  std::multimap<size_t, uint32_t> at_index;
  for (const auto& [device, peak] : peaks.peaks()) {
    at_index.emplace(peak.event_index, device);
    result[device].time_ns = peak.time_ns;
  }
  const size_t last = at_index.rbegin()->first;
  LiveMemory live;
  walk_live_changes(trace.events, live, [&](size_t i, const trace::Event&, const LiveChange&) {
    auto [first, end] = at_index.equal_range(i);
    for (auto it = first; it != end; ++it) {
      LiveStacks& stacks = result[it->second];
      live.for_each_live([&](const Allocation& a) {
        if (a.device == it->second && trace::occupies_device_memory(a.kind)) add(stacks, a);
      });
    }
    return i < last;
  });
  return result;
}

LiveStacks live_at(const trace::TraceContents& trace, uint32_t device, uint64_t time_ns) {
  LiveMemory live;
  walk_with_live_set_until(trace.events, live, time_ns, [](const trace::Event&, const LiveChange&) {});
  LiveStacks result;
  result.time_ns = time_ns;
  live.for_each_live([&](const Allocation& a) {
    if (a.device == device && trace::occupies_device_memory(a.kind)) add(result, a);
  });
  return result;
}

std::map<uint32_t, LiveStacks> live_at_exit(const trace::TraceContents& trace) {
  LiveMemory live;
  uint64_t end_ns = trace.end ? trace.end->time_ns : 0;
  walk_live_changes(trace.events, live, [&](size_t, const trace::Event& event, const LiveChange&) {
    end_ns = std::max(end_ns, event.time_ns);
    return true;
  });
  std::map<uint32_t, LiveStacks> result;
  const LeakRule rule(live);
  live.for_each_live([&](const Allocation& a) {
    if (!rule.counts(a)) return;
    LiveStacks& stacks = result[a.device];
    stacks.time_ns = end_ns;
    add(stacks, a);
  });
  return result;
}

}  // namespace vramscope::analysis
