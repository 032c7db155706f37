// Decodes the records of one chunk: events into a list, everything else
// (strings, stacks, modules, threads, devices, the end) into a TraceContents.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "formats/trace_layout.h"
#include "formats/trace_reader.h"

namespace vramscope::trace {

// Reads varints and strings; on running past the end it stays failed and
// returns zeros, so callers check ok() once per record.
class ByteCursor {
 public:
  explicit ByteCursor(std::span<const uint8_t> bytes) : p_(bytes.data()), end_(bytes.data() + bytes.size()) {}
  bool ok() const { return ok_; }
  bool at_end() const { return p_ >= end_; }
  const uint8_t* position() const { return p_; }

  uint8_t byte() {
    if (p_ >= end_) return fail();
    return *p_++;
  }
  uint64_t varint() {
    if (end_ - p_ >= 10) {  // room for the longest varint: no bounds to check byte by byte
      uint64_t value = 0;
      for (int shift = 0; shift < 70; shift += 7) {
        uint8_t b = *p_++;
        value |= static_cast<uint64_t>(b & 0x7f) << shift;
        if (!(b & 0x80)) return value;
      }
      bad_ = true;
      return fail();
    }
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ >= end_) return fail();
      uint8_t b = *p_++;
      value |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return value;
    }
    bad_ = true;
    return fail();
  }
  std::string string() {
    uint64_t size = varint();
    if (!ok_ || size > static_cast<uint64_t>(end_ - p_)) {
      if (ok_ && size > layout::kMaxStringBytes) bad_ = true;
      fail();
      return {};
    }
    std::string s(reinterpret_cast<const char*>(p_), size);
    p_ += size;
    return s;
  }
  // True when the bytes cannot be a record at all (not merely cut short).
  bool malformed() const { return bad_; }

 private:
  uint8_t fail() {
    ok_ = false;
    p_ = end_;
    return 0;
  }
  const uint8_t* p_;
  const uint8_t* end_;
  bool ok_ = true;
  bool bad_ = false;
};

enum class ChunkResult { Ok, RanOut, Corrupt };

class RecordDecoder {
 public:
  // `ticks_per_second`: 0 when record times are nanoseconds. `start_ns`: the
  // clock reading event times count from. `meta`: where the records that
  // are not events go; null to skip them. `file_bytes`: the trace file's
  // size, which bounds ids (max_id()) when there is no `meta` to say it.
  RecordDecoder(TraceContents* meta, double ticks_per_second, uint64_t start_ns,
                uint64_t file_bytes = UINT64_MAX)
      : meta_(meta),
        ns_per_tick_(ticks_per_second > 0 ? 1e9 / ticks_per_second : 1.0),
        ticks_are_ns_(ns_per_tick_ == 1.0),
        start_ns_(start_ns),
        max_id_(static_cast<uint32_t>(std::min(meta ? meta->file_bytes : file_bytes, uint64_t{1} << 28))),
        max_event_stack_(meta || file_bytes != UINT64_MAX ? max_id_ : UINT32_MAX) {}

  // `exact`: the bytes are a sealed chunk's records and must decode to the
  // last byte. Otherwise decoding stops at the first zero token. Events are
  // appended to `events` unless it is null.
  ChunkResult decode_chunk(std::span<const uint8_t> payload, const layout::ChunkHead& head, bool exact,
                           std::vector<Event>* events);
  // The same a part at a time, so that a walk's events stay in the cache:
  // start_chunk, then decode_events until chunk_done().
  void start_chunk(std::span<const uint8_t> payload, const layout::ChunkHead& head, bool exact);
  // Fills `out` from its start as far as the chunk's events go; `written`:
  // how many it wrote.
  ChunkResult decode_events(std::span<Event> out, size_t& written) {
    return decode(out.data(), out.size(), written);
  }
  bool chunk_done() const { return done_; }
  // The current chunk's bytes not decoded yet: each record takes one at
  // least, so no more events than this are left in it.
  size_t bytes_left() const { return static_cast<size_t>(end_ - next_); }
  // Keep the place of every record that is not an event in `kept`, as
  // chunk `chunk`'s; null to stop keeping them.
  void keep_records(std::vector<KeptRecord>* kept, uint32_t chunk) {
    kept_ = kept;
    chunk_index_ = chunk;
  }
  // Decodes a kept record again into the TraceContents; `payload` and
  // `head` are its chunk's. False when it does not decode (see error()).
  bool replay(std::span<const uint8_t> payload, const layout::ChunkHead& head, const KeptRecord& record);
  // Records and their bytes decoded since this decoder was made.
  uint64_t records_seen() const { return records_seen_; }
  uint64_t record_bytes_seen() const { return record_bytes_seen_; }
  const std::string& error() const { return error_; }

  // Whether the chunk's events so far came in time order.
  bool events_in_time_order() const { return in_time_order_; }
  // The memory kinds of the Alloc and Free events of the last call (bit 1 << kind).
  uint32_t address_event_kinds() const { return address_kinds_; }
  // After a whole chunk: whether its timed records, events or not, come in
  // time order. They do unless the tick deltas overflow, which no writer does.
  bool chunk_in_time_order() const;

  void add_device(const DeviceInfo& device);
  // Orders the threads and devices.
  void finish();

 private:
  // What the last Alloc (or Free) record of the chunk gave that a record
  // with kSameAttrs or kSameStack gives again.
  struct AttrState {
    // The event such a record gives, less its time, address and size: one
    // copy writes the rest of it.
    Event event;
    bool valid = false;
    // The attributes a record that does not repeat them gives.
    void set(uint8_t kind, uint8_t api, uint8_t via, uint64_t device, uint64_t stream) {
      event.kind = static_cast<MemoryKind>(kind);
      event.api = static_cast<Api>(api);
      event.via = static_cast<Api>(via);
      event.device = static_cast<uint32_t>(device);
      event.stream = stream;
      valid = true;
    }
  };

  // `out` null: check the records only.
  ChunkResult decode(Event* out, size_t room, size_t& written);
  void emit(const Event& event) {
    if (!out_) return;
    note_event(event.time_ns);
    out_[written_++] = event;
  }
  void note_event(uint64_t time_ns) {
    if (time_ns < last_event_time_) in_time_order_ = false;
    last_event_time_ = time_ns;
  }
  // Alloc and Free records from `p` while they start before `stop`, which
  // leaves room for the longest one: no bounds to check. Stops before any
  // other record and before one it doubts, for decode_record to judge.
  template <bool kEmit>
  const uint8_t* address_records(const uint8_t* p, const uint8_t* stop, uint64_t& count);
  // One such record read a varint at a time: one with new attributes, a long
  // varint or the first of its type. Null when in doubt. Out of line: the
  // loop above keeps its registers.
  template <bool kEmit>
  [[gnu::noinline]] const uint8_t* address_record_in_full(const uint8_t* p);
  // The varints of an Alloc or Free record; size and stack 0 when absent.
  struct AddressFields {
    uint64_t dt = 0;
    uint64_t address = 0;  // zigzag delta
    uint64_t size = 0;
    uint64_t stack = 0;
  };
  // A whole record: its change to the chunk's state, and its event.
  void apply_address_record(AttrState& state, uint8_t type, bool has_size, bool new_stack,
                            const AddressFields& fields);
  // Its change to the chunk's state but the time's; returns its event's size.
  uint64_t apply_address_fields(AttrState& state, uint8_t type, bool has_size, bool new_stack,
                                const AddressFields& fields);
  bool decode_record(uint8_t token, ByteCursor& in, ThreadIndex thread);
  bool decode_address_record(uint8_t token, ByteCursor& in);
  void emit_address_event(const AttrState& state, uint64_t size);
  void add_ticks(uint64_t dt) {
    // Past 2^64 ticks: time would step back.
    if (__builtin_add_overflow(ticks_since_base_, dt, &ticks_since_base_)) ticks_wrapped_ = true;
  }
  // Nanoseconds since the trace's start of the last record's time.
  uint64_t relative_time() const {
    if (ticks_are_ns_) {
      uint64_t absolute = base_ns_ + ticks_since_base_;
      return absolute > start_ns_ ? absolute - start_ns_ : 0;
    }
    double since_base = static_cast<double>(ticks_since_base_) * ns_per_tick_;
    // Past 2^64 ns (a tick rate or a tick count no writer makes): the end of
    // time, rather than a conversion out of range.
    uint64_t absolute = UINT64_MAX;
    if (since_base < 0x1p64) absolute = static_cast<uint64_t>(since_base + 0.5);
    if (__builtin_add_overflow(absolute, base_ns_, &absolute)) absolute = UINT64_MAX;
    return absolute > start_ns_ ? absolute - start_ns_ : 0;
  }
  ChunkResult fail(std::string message);
  // The largest string, frame or stack node id a record may define or an
  // event name. The tables of the TraceContents, and the analysis's tables
  // per stack, are indexed by id, so an id is as much memory as that many
  // entries: bounded by the file's size, which every trace as written
  // respects (each kind is numbered from 1, and each definition takes at
  // least 3 bytes), a few corrupt bytes cannot ask for gigabytes.
  uint32_t max_id() const { return max_id_; }
  // An event's stack: one past max_id() is defined nowhere in the file, and
  // reads as no stack, as an id with no definition does. (Without the
  // file's size, as when a test decodes records alone, ids are as written.)
  StackId event_stack(uint64_t id) const {
    return StackId{id <= max_event_stack_ ? static_cast<uint32_t>(id) : 0u};
  }

  TraceContents* meta_;
  double ns_per_tick_;
  bool ticks_are_ns_;
  uint64_t start_ns_;
  uint32_t max_id_;           // at most 2^28
  uint32_t max_event_stack_;  // max_id_ when the file's size is known
  Event* out_ = nullptr;  // where events go, room_ of them; null when checking
  size_t room_ = 0;
  size_t written_ = 0;
  std::string error_;
  // Per-chunk state.
  const uint8_t* begin_ = nullptr;
  const uint8_t* next_ = nullptr;  // the next record
  const uint8_t* end_ = nullptr;
  bool exact_ = false;
  bool done_ = true;
  bool ticks_wrapped_ = false;  // the tick deltas overflowed
  ThreadIndex thread_;
  uint64_t base_ns_ = 0;
  uint64_t base_ticks_ = 0;
  uint64_t ticks_since_base_ = 0;  // the last record's time, wrapping
  uint64_t last_address_ = 0;
  uint64_t last_alloc_size_ = 0;
  AttrState alloc_state_;
  AttrState free_state_;
  uint64_t last_event_time_ = 0;
  bool in_time_order_ = true;
  uint32_t address_kinds_ = 0;
  std::vector<KeptRecord>* kept_ = nullptr;
  uint32_t chunk_index_ = 0;
  uint64_t records_seen_ = 0;
  uint64_t record_bytes_seen_ = 0;
};

}  // namespace vramscope::trace
