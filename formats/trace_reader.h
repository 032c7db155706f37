// Reads a vramscope trace (docs/trace-format.md) back into memory.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "formats/event_log.h"
#include "formats/trace_events.h"

namespace vramscope::trace {

// A trace that cannot be read: not a trace, a newer version, a corrupt chunk.
// The message is one line a user can act on.
class TraceError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct TraceContents {
  std::string source;  // file name, for messages
  Header header;
  // Sorted by time (file order breaks ties); each free carries the kind,
  // device and size of the allocation it frees.
  EventLog events;
  std::vector<DeviceInfo> devices;  // header devices plus Device records, by ordinal
  std::vector<Thread> threads;
  std::vector<Module> modules;
  std::optional<End> end;

  // True when the trace stops before its End record: the process was killed,
  // or the file was truncated or is still being written. Every event complete
  // before the cut is in `events`.
  bool cut_short = false;
  std::string cut_short_reason;

  uint64_t file_bytes = 0;
  uint64_t record_bytes = 0;  // bytes of records, without chunk headers or padding
  uint64_t record_count = 0;

  // Lookups. An unknown id gives "" / no frames rather than failing.
  const std::string& string(StringId id) const;
  const StackNode* stack_node(StackId id) const;
  const Frame* frame(FrameId id) const;
  // The frames of a stack, innermost first.
  std::vector<const StackNode*> stack_frames(StackId id) const;

  // Indexed by id value; slot 0 unused.
  std::vector<std::string> strings;
  std::vector<StackNode> stack_nodes;
  std::vector<Frame> frames;
};

// When a trace's records are decoded and checked. Now: by the reader, every
// one, and the events again on each walk. OnFirstWalk: the reader checks the
// header and the chunk heads only, and the chunks' checksums and records are
// checked once, by the first walk over the events, which keeps the records that are
// not events aside; finish_first_walk then fills in the rest of the
// TraceContents. Until then it holds the header, the header's devices and the
// events alone. A walk that meets a record not as written throws
// RecordsNeedChecking: read the trace again, checked, for the error to report.
enum class RecordCheck { Now, OnFirstWalk };

// Throws TraceError for a missing, unreadable, foreign or corrupt file. A file
// cut short is not an error: see TraceContents::cut_short.
TraceContents read_trace_file(const std::string& path, RecordCheck check = RecordCheck::Now);
TraceContents read_trace_bytes(std::span<const uint8_t> bytes, const std::string& source,
                               RecordCheck check = RecordCheck::Now);

// After a whole walk over a trace read with RecordCheck::OnFirstWalk: its
// strings, stacks, frames, modules, threads, devices, end, record counts and
// whether it was cut short. Nothing for a trace read checked. Throws
// RecordsNeedChecking when no walk has gone through every record.
void finish_first_walk(TraceContents& trace);

}  // namespace vramscope::trace
