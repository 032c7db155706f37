#include "formats/snapshot_merge.h"

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

namespace vramscope::trace {

namespace {

bool is_segment(const Event& e) {
  return e.type == EventType::Alloc && (e.kind == MemoryKind::Device || e.kind == MemoryKind::VirtualMap);
}

// The snapshot's names, stacks and frames, renumbered after the trace's own.
struct Renumbering {
  uint32_t strings = 0;
  uint32_t frames = 0;
  uint32_t stacks = 0;

  StringId string(StringId id) const { return id.valid() ? StringId{id.value + strings} : id; }
  FrameId frame(FrameId id) const { return id.valid() ? FrameId{id.value + frames} : id; }
  StackId stack(StackId id) const { return id.valid() ? StackId{id.value + stacks} : id; }
};

Renumbering append_names(TraceContents& into, const TraceContents& from) {
  auto last = [](size_t size) { return static_cast<uint32_t>(std::max<size_t>(size, 1) - 1); };
  Renumbering r{last(into.strings.size()), last(into.frames.size()), last(into.stack_nodes.size())};
  if (into.strings.empty()) into.strings.emplace_back();
  if (into.frames.empty()) into.frames.emplace_back();
  if (into.stack_nodes.empty()) into.stack_nodes.emplace_back();
  for (size_t i = 1; i < from.strings.size(); ++i) into.strings.push_back(from.strings[i]);
  for (size_t i = 1; i < from.frames.size(); ++i) {
    const Frame& f = from.frames[i];
    into.frames.push_back(Frame{r.frame(f.id), r.string(f.function), r.string(f.file), f.line});
  }
  for (size_t i = 1; i < from.stack_nodes.size(); ++i) {
    const StackNode& n = from.stack_nodes[i];
    into.stack_nodes.push_back(StackNode{r.stack(n.id), r.stack(n.parent), n.ip, r.frame(n.frame)});
  }
  return r;
}

// The gap from the snapshot's wall-clock placing to the trace's own record of
// each segment the snapshot's window made: the median of them, and how many.
std::pair<int64_t, size_t> segment_gap(const std::vector<Event>& native, const std::vector<Event>& snapshot,
                                       int64_t placing_ns) {
  std::multimap<std::pair<uint64_t, uint64_t>, uint64_t> driver;  // (address, size) → time
  for (const Event& e : native) {
    if (is_segment(e)) driver.emplace(std::pair{e.address, e.size}, e.time_ns);
  }
  std::vector<int64_t> gaps;
  for (const Event& e : snapshot) {
    if (!is_segment(e) || e.time_ns == 0) continue;  // at 0: there before the window
    const int64_t placed = static_cast<int64_t>(e.time_ns) + placing_ns;
    auto [first, last] = driver.equal_range({e.address, e.size});
    int64_t nearest = 0;
    bool found = false;
    for (auto it = first; it != last; ++it) {
      const int64_t gap = static_cast<int64_t>(it->second) - placed;
      if (!found || (gap < 0 ? -gap : gap) < (nearest < 0 ? -nearest : nearest)) nearest = gap;
      found = true;
    }
    if (found) gaps.push_back(nearest);
  }
  if (gaps.empty()) return {0, 0};
  std::nth_element(gaps.begin(), gaps.begin() + static_cast<ptrdiff_t>(gaps.size() / 2), gaps.end());
  return {gaps[gaps.size() / 2], gaps.size()};
}

uint64_t device_total(const TraceContents& trace, uint32_t ordinal) {
  for (const DeviceInfo& d : trace.devices) {
    if (d.ordinal == ordinal) return d.total_bytes;
  }
  return 0;
}

}  // namespace

SnapshotMerge merge_snapshot(const TraceContents& native, const TraceContents& snapshot) {
  SnapshotMerge merge;
  std::vector<Event> events;
  native.events.for_each([&](size_t, const Event& e) { events.push_back(e); }, FreeFields::AsRecorded);
  const std::vector<Event> theirs = snapshot.events.collect();

  const int64_t placing =
      static_cast<int64_t>(snapshot.header.start_unix_ns) - static_cast<int64_t>(native.header.start_unix_ns);
  for (const Event& e : theirs) merge.segments_in_window += is_segment(e) && e.time_ns != 0;
  auto [gap, matched] = segment_gap(events, theirs, placing);
  merge.segments_matched = matched;
  merge.shift_ns = placing + gap;

  TraceContents& out = merge.trace;
  out.source = native.source;
  out.header = native.header;
  out.devices = native.devices;
  out.threads = native.threads;
  out.modules = native.modules;
  out.end = native.end;
  out.cut_short = native.cut_short;
  out.cut_short_reason = native.cut_short_reason;
  out.strings = native.strings;
  out.frames = native.frames;
  out.stack_nodes = native.stack_nodes;
  const Renumbering r = append_names(out, snapshot);

  for (Event e : theirs) {
    const bool segment = e.kind == MemoryKind::Device && e.type != EventType::FailedAlloc;
    if (segment) continue;  // the trace has the driver's own record of it
    const int64_t time = static_cast<int64_t>(e.time_ns) + merge.shift_ns;
    e.time_ns = time > 0 ? static_cast<uint64_t>(time) : 0;
    e.stack = r.stack(e.stack);
    e.name = r.string(e.name);
    if (!e.thread.valid()) e.thread = ThreadIndex{1};
    if (e.type == EventType::FailedAlloc && e.total_bytes == 0)
      e.total_bytes = device_total(native, e.device);
    merge.blocks += e.type == EventType::Alloc && e.kind == MemoryKind::Block;
    merge.out_of_memory += e.type == EventType::FailedAlloc;
    events.push_back(e);
  }
  // The trace's events first where times tie: a segment before the blocks in it.
  std::stable_sort(events.begin(), events.end(),
                   [](const Event& a, const Event& b) { return a.time_ns < b.time_ns; });
  if (out.threads.empty()) out.threads.push_back(Thread{ThreadIndex{1}, native.header.pid, "main"});
  out.events = EventLog(std::move(events));
  return merge;
}

}  // namespace vramscope::trace
