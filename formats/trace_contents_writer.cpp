// The names first (strings, frames, stacks, threads, devices), in the first
// thread's chunks, then each thread's events in chunks of its own: the reader
// merges the threads' chunks by time.
#include "formats/trace_contents_writer.h"

#include <algorithm>
#include <map>
#include <vector>

#include "formats/trace_file_writer.h"

namespace vramscope::trace {

namespace {

layout::RecordType marker_type(EventType type) {
  switch (type) {
    case EventType::RangePush:
      return layout::kRangePush;
    case EventType::RangePop:
      return layout::kRangePop;
    default:
      return layout::kMarker;
  }
}

void write_event(SimpleTraceWriter& out, const Event& e, uint64_t ticks) {
  switch (e.type) {
    case EventType::Alloc:
    case EventType::Free: {
      AllocFields f{ticks, e.kind, e.api, e.via, e.device, e.stream, e.address, e.size, e.stack};
      if (e.type == EventType::Alloc) {
        out.write([&](ChunkEncoder& c) { return c.alloc(f); });
      } else {
        out.write([&](ChunkEncoder& c) { return c.free(f); });
      }
      return;
    }
    case EventType::FailedAlloc: {
      FailureFields f{ticks,  e.kind,  e.api,        e.via,         e.device,
                      e.size, e.error, e.free_bytes, e.total_bytes, e.stack};
      out.write([&](ChunkEncoder& c) { return c.failed_alloc(f); });
      return;
    }
    case EventType::MemInfo:
      out.write([&](ChunkEncoder& c) { return c.mem_info(ticks, e.device, e.free_bytes, e.total_bytes); });
      return;
    case EventType::Marker:
    case EventType::RangePush:
    case EventType::RangePop:
      out.write([&](ChunkEncoder& c) { return c.marker(marker_type(e.type), ticks, e.name); });
      return;
    case EventType::Fork:
      out.write([&](ChunkEncoder& c) { return c.fork(ticks, e.child_pid); });
      return;
    case EventType::PoolTrim:
      out.write([&](ChunkEncoder& c) { return c.pool_trim(ticks, e.device, e.address, e.size); });
      return;
  }
}

}  // namespace

void write_trace_file(const TraceContents& trace, const std::string& path) {
  Header header = trace.header;
  header.ticks_per_second = 0;  // ticks are nanoseconds
  if (header.devices.empty()) header.devices = trace.devices;
  SimpleTraceWriter out(path, header);
  for (size_t i = 1; i < trace.strings.size(); ++i) {
    out.write(
        [&](ChunkEncoder& c) { return c.string(StringId{static_cast<uint32_t>(i)}, trace.strings[i]); });
  }
  for (size_t i = 1; i < trace.frames.size(); ++i) {
    const Frame& f = trace.frames[i];
    out.write([&](ChunkEncoder& c) { return c.frame(f.id, f.function, f.file, f.line); });
  }
  for (size_t i = 1; i < trace.stack_nodes.size(); ++i) {
    const StackNode& n = trace.stack_nodes[i];
    if (n.frame.valid()) {
      out.write([&](ChunkEncoder& c) { return c.stack_frame_node(n.id, n.parent, n.frame); });
    } else {
      out.write([&](ChunkEncoder& c) { return c.stack_node(n.id, n.parent, n.ip); });
    }
  }
  for (const Thread& t : trace.threads) {
    out.write([&](ChunkEncoder& c) { return c.thread(t.index, t.os_tid, t.name); });
  }
  for (const DeviceInfo& d : trace.devices) out.write([&](ChunkEncoder& c) { return c.device(d); });
  for (const Module& m : trace.modules) {
    out.write([&](ChunkEncoder& c) { return c.module(m.path, m.base, m.start, m.end, m.build_id); });
  }

  // Each thread's events, in their order (time order within a thread).
  std::map<uint32_t, std::vector<size_t>> by_thread;
  std::vector<Event> events = trace.events.collect();
  for (size_t i = 0; i < events.size(); ++i)
    by_thread[std::max<uint32_t>(events[i].thread.value, 1)].push_back(i);
  for (const auto& [thread, indices] : by_thread) {
    out.switch_thread(ThreadIndex{thread});
    for (size_t i : indices) write_event(out, events[i], header.start_ns + events[i].time_ns);
  }
  if (trace.end) {
    const End& end = *trace.end;
    out.write([&](ChunkEncoder& c) { return c.end(header.start_ns + end.time_ns, end.reason, end.code, 0); });
  }
  out.finish();
}

}  // namespace vramscope::trace
