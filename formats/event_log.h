// The events of a trace, in time order, read as a stream of batches. A trace
// read from a file keeps only where its chunks are: each walk decodes them
// again, merges the threads' chunks by time and pairs every free with its
// allocation, so a trace of a hundred million events never sits in memory.
// Events made in memory (tests, importers) are held as they are.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "formats/trace_events.h"
#include "formats/trace_layout.h"

namespace vramscope::trace {

// Where one chunk's records are, as the reader validated them.
struct ChunkRef {
  uint64_t payload_offset = 0;  // in the file
  uint32_t length = 0;          // payload bytes to decode
  bool exact = false;           // sealed: decodes to its last byte; else up to the first zero token
  uint32_t thread = 0;
  uint64_t base_time_ns = 0;
  uint64_t base_ticks = 0;
  bool in_time_order = false;  // its events need no sorting: a walk may decode it a part at a time
  // Sealed, its checksum not yet compared (RecordCheck::OnFirstWalk): the
  // first walk compares it as it comes to the chunk, the bytes then in the cache.
  bool checksum_deferred = false;
  uint32_t checksum = 0;

  // The head a decoder starts the chunk from.
  layout::ChunkHead head() const { return {layout::kChunkMagic, thread, 0, 0, base_time_ns, base_ticks}; }
};

// A record that is not an event, as the first walk over a trace whose
// records were not checked when it was read kept it: where it is, and its
// chunk's tick reading before it (an End record's time).
struct KeptRecord {
  uint32_t chunk = 0;   // index into TraceFileEvents::chunks
  uint32_t offset = 0;  // of its token, in the chunk's payload
  uint64_t ticks = 0;
};

// What the first whole walk over such a trace found: its records that are
// not events, and how many records it decoded.
struct FirstWalk {
  std::vector<KeptRecord> kept;  // in the order the walk met them
  uint64_t records = 0;
  uint64_t record_bytes = 0;
};

// Thrown by a walk over a trace whose records were not checked when it was
// read, at a record that is not as the writer makes them (corrupt, cut, out
// of time order): the trace must be read again, checked, to say what is wrong.
class RecordsNeedChecking : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A trace file's bytes and its chunks; shared by every walk over its events.
struct TraceFileEvents {
  TraceFileEvents() = default;
  TraceFileEvents(const TraceFileEvents&) = delete;
  TraceFileEvents& operator=(const TraceFileEvents&) = delete;
  ~TraceFileEvents();

  const uint8_t* bytes = nullptr;
  size_t size = 0;
  bool mapped = false;  // munmap on destruction, else `owned` holds the bytes
  std::vector<uint8_t> owned;
  std::vector<ChunkRef> chunks;  // in file order
  // The mapped file, open: chunk heads and the walks' chunks are read from
  // it rather than through the mapping, into buffers used over and over. In
  // a virtual machine a page mapped costs several times its copying, and
  // the kernel maps 64 KiB around each page first read.
  int fd = -1;
  std::string path;

  // Copies `length` bytes at `offset` into `out`; false with errno set if
  // the file no longer holds them.
  bool read_at(uint64_t offset, void* out, size_t length) const;
  // A chunk's payload: read into `buffer`, or where the bytes are held.
  // Throws std::runtime_error if the file can no longer be read.
  const uint8_t* payload(const ChunkRef& chunk, std::vector<uint8_t>& buffer) const;

  // Gives back this process's pages of a range already read: they stay in
  // the page cache for the next walk, but do not count in this process's
  // memory (a trace of a hundred million events is most of a gigabyte).
  // Ranges one after the other are given back together, kReleaseBytes at a time: each
  // call flushes the TLB, on every CPU the process has run on.
  void release(uint64_t offset, uint64_t length) const;
  static constexpr uint64_t kReleaseBytes = uint64_t{32} << 20;
  static constexpr uint64_t kReleaseGap = uint64_t{1} << 20;
  double ticks_per_second = 0;  // 0: ticks are nanoseconds
  uint64_t start_ns = 0;        // header.start_ns: event times count from it

  // Records left unchecked by the reader (RecordCheck::OnFirstWalk): the
  // first whole walk checks them and keeps the rest of the trace aside.
  bool records_deferred = false;
  std::string cut_reason;                       // what the chunks' framing alone says of a cut
  uint64_t chunks_in_file = 0;                  // chunk slots, claimed or not
  mutable std::optional<FirstWalk> first_walk;  // once a walk has gone through
  mutable size_t chunks_walked = 0;             // by the walk under way, for progress

 private:
  void give_back(uint64_t start, uint64_t end) const;
  mutable uint64_t release_start_ = 0;  // the range read and not yet given back
  mutable uint64_t release_end_ = 0;
};

class EventCursor;

// What a walk does with frees. Filled: every free carries the kind, device
// and size of the allocation it frees. AsRecorded: frees of pointers and
// handles keep the fields of their record, for a caller that pairs them
// itself (the analyzer's live set does); frees that free several
// allocations (ranged unmaps, NVTX heaps) are split and filled all the same.
enum class FreeFields { Filled, AsRecorded };

class EventLog {
 public:
  EventLog() = default;
  explicit EventLog(std::shared_ptr<const TraceFileEvents> file) : file_(std::move(file)) {}

  // Events made in memory, in time order: all at once, or appended.
  explicit EventLog(std::vector<Event> events) : memory_(std::move(events)) {}
  Event& push_back(const Event& event) {
    memory_.push_back(event);
    return memory_.back();
  }
  Event& back() { return memory_.back(); }

  EventCursor cursor(FreeFields fields = FreeFields::Filled) const;

  // visit(index, event) for every event, in order.
  template <typename Visit>
  void for_each(Visit&& visit, FreeFields fields = FreeFields::Filled) const;

  // visit(index, event) for the events up to and including index `last`.
  template <typename Visit>
  void for_each_until(size_t last, Visit&& visit) const;

  // Every event at once: for tests and small traces.
  std::vector<Event> collect() const;
  // The number of events (a walk over them all).
  size_t count() const;

  // The file the events are read from; null for events made in memory.
  const TraceFileEvents* file() const { return file_.get(); }

 private:
  std::vector<Event> memory_;
  std::shared_ptr<const TraceFileEvents> file_;
};

// One walk over the events. next() gives the following batch, empty at the end.
class EventCursor {
 public:
  explicit EventCursor(std::span<const Event> memory);
  EventCursor(std::shared_ptr<const TraceFileEvents> file, FreeFields fields);
  EventCursor(EventCursor&&) noexcept;
  EventCursor& operator=(EventCursor&&) noexcept;
  ~EventCursor();

  std::span<const Event> next();

 private:
  class FileStream;
  std::span<const Event> memory_;
  std::unique_ptr<FileStream> stream_;
};

// Events made in memory are as they were made: their frees are not paired.
inline EventCursor EventLog::cursor(FreeFields fields) const {
  return file_ ? EventCursor(file_, fields) : EventCursor(memory_);
}

template <typename Visit>
void EventLog::for_each(Visit&& visit, FreeFields fields) const {
  EventCursor walk = cursor(fields);
  size_t index = 0;
  for (std::span<const Event> batch = walk.next(); !batch.empty(); batch = walk.next()) {
    for (const Event& event : batch) visit(index++, event);
  }
}

template <typename Visit>
void EventLog::for_each_until(size_t last, Visit&& visit) const {
  EventCursor walk = cursor();
  size_t index = 0;
  for (std::span<const Event> batch = walk.next(); !batch.empty(); batch = walk.next()) {
    for (const Event& event : batch) {
      visit(index, event);
      if (index++ == last) return;
    }
  }
}

}  // namespace vramscope::trace
