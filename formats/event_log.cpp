// Walks over a trace's events: decode each thread's chunks, merge the
// threads by time, pair frees with their allocations.
#include "formats/event_log.h"

#include <libdeflate.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <utility>

#include "formats/address_ranges.h"
#include "formats/flat_table.h"
#include "formats/record_decoder.h"

namespace vramscope::trace {

namespace {

// Events handed out per batch: big enough that the walk's overhead per batch
// vanishes, small enough to stay in the cache.
constexpr size_t kBatchEvents = 1024;
// Events decoded at a time from a chunk in time order: a whole chunk's
// (near a megabyte) would not stay in the cache until they are used.
constexpr size_t kPartEvents = 2048;

// Pairs frees with allocations as the events go by. Some frees free several
// allocations: a ranged cuMemUnmap every mapping it covers, an NVTX heap reset
// or unregister every live block of the heap (a block's stream is its heap).
// Those become one free per allocation, right after the event that caused
// them; a heap reset itself frees nothing else and leaves no event of its own.
class FreePairing {
 public:
  explicit FreePairing(FreeFields fields) : fields_(fields) {}
  void process(Event e, std::vector<Event>& out);
  // Whether process() may change an Alloc or Free event of one of these
  // memory kinds (bit 1 << kind), or add others after it.
  bool acts_on_any(uint32_t kinds) const {
    if (fields_ == FreeFields::Filled) return kinds != 0;
    for (int k = 0; k < kMemoryKindCount; ++k) {
      if ((kinds >> k & 1) && splits(address_space(static_cast<MemoryKind>(k)))) return true;
    }
    return false;
  }
  static bool splits(AddressSpace space) {
    return space == AddressSpace::Map || space == AddressSpace::Block || space == AddressSpace::Heap;
  }

 private:
  struct Live {
    MemoryKind kind{};
    uint32_t device = 0;
    uint64_t size = 0;
    uint64_t stream = 0;
  };
  struct Entry {
    AddressSpace space{};
    uint64_t address = 0;
    Live live;
  };
  struct Traits {
    static AddressKey key(const Entry& e) { return AddressKey{e.space, e.address}; }
    static size_t hash(const AddressKey& k) { return k.hash(); }
  };

  void free_extra(const Event& cause, uint64_t address, const Live& a, std::vector<Event>& out);
  void free_heap_blocks(const Event& cause, uint64_t heap, std::vector<Event>& out);

  FlatTable<Entry, Traits> live_;                        // every space but Map
  std::map<uint64_t, Live> mappings_;                    // Map: a ranged unmap needs address order
  std::set<std::pair<uint64_t, uint64_t>> heap_blocks_;  // (heap, block address) of live blocks
  std::map<uint64_t, uint64_t> resizing_;  // block address -> heap, from a resize's free to its alloc
  FreeFields fields_;
};

void FreePairing::free_extra(const Event& cause, uint64_t address, const Live& a, std::vector<Event>& out) {
  Event extra = cause;
  extra.kind = a.kind;
  extra.address = address;
  extra.size = a.size;
  extra.device = a.device;
  if (a.kind == MemoryKind::Block) heap_blocks_.erase({a.stream, address});
  out.push_back(extra);
}

void FreePairing::free_heap_blocks(const Event& cause, uint64_t heap, std::vector<Event>& out) {
  for (auto b = heap_blocks_.lower_bound({heap, 0}); b != heap_blocks_.end() && b->first == heap;) {
    uint64_t address = b->second;
    ++b;  // free_extra erases the entry
    Entry* found = live_.find({AddressSpace::Block, address});
    if (!found) continue;
    Live a = found->live;
    live_.erase(found);
    free_extra(cause, address, a, out);
  }
}

void FreePairing::process(Event e, std::vector<Event>& out) {
  if (e.type != EventType::Alloc && e.type != EventType::Free) {
    out.push_back(e);
    return;
  }
  AddressSpace space = address_space(e.kind);
  if (fields_ == FreeFields::AsRecorded && !splits(space)) {  // the caller pairs these itself
    out.push_back(e);
    return;
  }
  if (e.type == EventType::Alloc) {
    Live a{e.kind, e.device, e.size, e.stream};
    if (e.kind == MemoryKind::Block) {
      auto resized = resizing_.find(e.address);
      if (resized != resizing_.end()) {
        if (e.api == Api::nvtxMemRegionsResize) a.stream = e.stream = resized->second;
        resizing_.erase(resized);
      }
    }
    if (space == AddressSpace::Map) {
      mappings_[e.address] = a;
    } else {
      auto [slot, inserted] = live_.insert(Entry{space, e.address, a});
      if (!inserted) {
        if (slot->live.kind == MemoryKind::Block) heap_blocks_.erase({slot->live.stream, e.address});
        slot->live = a;
      }
    }
    if (e.kind == MemoryKind::Block) heap_blocks_.insert({e.stream, e.address});
    out.push_back(e);
    return;
  }
  if (e.kind == MemoryKind::Heap && e.api == Api::nvtxMemHeapReset) {
    free_heap_blocks(e, e.address, out);
    return;
  }
  Live a;
  if (space == AddressSpace::Map) {
    auto it = mappings_.find(e.address);
    if (it == mappings_.end()) {  // unknown address: left for the analyzer to count
      out.push_back(e);
      return;
    }
    a = it->second;
    mappings_.erase(it);
  } else {
    Entry* found = live_.find({space, e.address});
    if (!found) {
      out.push_back(e);
      if (space == AddressSpace::Heap) free_heap_blocks(e, e.address, out);
      return;
    }
    a = found->live;
    live_.erase(found);
  }
  const uint64_t asked = e.size;  // an unmap's range, which may hold more mappings
  e.kind = a.kind;
  e.device = a.device;
  e.size = a.size;
  if (a.kind == MemoryKind::Block) {
    heap_blocks_.erase({a.stream, e.address});
    if (e.api == Api::nvtxMemRegionsResize) resizing_[e.address] = a.stream;
  }
  out.push_back(e);
  if (space == AddressSpace::Map && asked > e.size) {
    for (auto next = mappings_.lower_bound(e.address);
         next != mappings_.end() && range_has(e.address, asked, next->first);) {
      free_extra(e, next->first, next->second, out);
      next = mappings_.erase(next);
    }
  }
  if (space == AddressSpace::Heap) free_heap_blocks(e, e.address, out);
}

}  // namespace

bool TraceFileEvents::read_at(uint64_t offset, void* out, size_t length) const {
  if (fd < 0) {
    if (offset > size || length > size - offset) {
      errno = EINVAL;
      return false;
    }
    std::memcpy(out, bytes + offset, length);
    return true;
  }
  auto* to = static_cast<uint8_t*>(out);
  while (length > 0) {
    ssize_t got = pread(fd, to, length, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      if (got == 0) errno = EIO;  // the file is shorter than when it was opened
      return false;
    }
    to += got;
    offset += static_cast<uint64_t>(got);
    length -= static_cast<size_t>(got);
  }
  return true;
}

const uint8_t* TraceFileEvents::payload(const ChunkRef& chunk, std::vector<uint8_t>& buffer) const {
  if (fd < 0) return bytes + chunk.payload_offset;
  if (buffer.size() < chunk.length) buffer.resize(chunk.length);
  if (!read_at(chunk.payload_offset, buffer.data(), chunk.length)) {
    throw std::runtime_error(
        "cannot read " + path + ": " +
        (errno == EIO ? "the file is shorter than when it was opened" : std::strerror(errno)));
  }
  return buffer.data();
}

void TraceFileEvents::release(uint64_t offset, uint64_t length) const {
  if (!mapped) return;
  uint64_t end = std::min<uint64_t>(offset + length, size);
  // A range just past the last, the padding of a chunk's slot between
  // them, joins it: at worst a page not yet read is read again.
  bool joins = offset >= release_end_ && offset - release_end_ < kReleaseGap;
  if (!joins || end - release_start_ >= kReleaseBytes) {
    give_back(release_start_, release_end_);
    release_start_ = offset;
  }
  release_end_ = end;
}

void TraceFileEvents::give_back(uint64_t start, uint64_t end) const {
  static const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  start = (start + page - 1) / page * page;
  end = end / page * page;
  if (end > start) madvise(const_cast<uint8_t*>(bytes) + start, end - start, MADV_DONTNEED);
}

// Each thread's chunks in time order, decoded one chunk at a time; the
// threads merged by event time, the chunk's place in the file breaking ties.
class EventCursor::FileStream {
 public:
  FileStream(std::shared_ptr<const TraceFileEvents> file, FreeFields fields)
      : file_(std::move(file)), pairing_(fields), collecting_(file_->records_deferred && !file_->first_walk) {
    if (collecting_) file_->chunks_walked = 0;
    std::map<uint32_t, size_t> thread_slot;
    for (size_t i = 0; i < file_->chunks.size(); ++i) {
      auto [slot, inserted] = thread_slot.try_emplace(file_->chunks[i].thread, threads_.size());
      if (inserted) threads_.emplace_back(*file_);
      threads_[slot->second].chunks.push_back(i);
    }
    for (ThreadStream& t : threads_) {
      std::stable_sort(t.chunks.begin(), t.chunks.end(), [&](size_t a, size_t b) {
        return file_->chunks[a].base_time_ns < file_->chunks[b].base_time_ns;
      });
      refill(t);
    }
    out_.reserve(kBatchEvents + 64);
  }

  std::span<const Event> next() {
    out_.clear();
    // A buffer handed out by the last call is refilled only now.
    for (ThreadStream& t : threads_) {
      if (t.position >= t.end) refill(t);
    }
    while (out_.size() < kBatchEvents) {
      ThreadStream* best = nullptr;
      ThreadStream* second = nullptr;
      for (ThreadStream& t : threads_) {
        if (t.position >= t.end) continue;
        if (!best || before(t, *best)) {
          second = best;
          best = &t;
        } else if (!second || before(t, *second)) {
          second = &t;
        }
      }
      if (!best) break;
      if (out_.empty() && !best->needs_pairing) {
        // Nothing to pair or split: hand out the thread's own events as they are.
        size_t begin = best->position;
        if (!second) {
          best->position = best->end;
        } else {
          while (best->position < best->end && before(*best, *second)) ++best->position;
        }
        return {best->events.data() + begin, best->position - begin};
      }
      // Take the best thread's events while they come before every other's.
      do {
        pairing_.process(best->events[best->position++], out_);
        if (best->position >= best->end && !refill(*best)) break;
      } while (out_.size() < kBatchEvents && (!second || before(*best, *second)));
    }
    if (out_.empty() && collecting_) finish_first_walk();
    return out_;
  }

 private:
  struct ThreadStream {
    explicit ThreadStream(const TraceFileEvents& file)
        : decoder(nullptr, file.ticks_per_second, file.start_ns, file.size) {}
    std::vector<size_t> chunks;  // indices into file_->chunks, by time
    size_t next_chunk = 0;
    const ChunkRef* chunk = nullptr;  // the current chunk
    uint64_t chunk_offset = 0;        // its place in the file
    RecordDecoder decoder;            // where it is in the current chunk
    std::vector<Event> events;  // [0, end): the current chunk's events, or the next part of them, by time
    std::vector<uint8_t> payload;  // the current chunk's bytes, read from the file
    size_t end = 0;
    size_t position = 0;
    bool needs_pairing = false;  // some of these events go through pairing_
  };

  static bool before(const ThreadStream& a, const ThreadStream& b) {
    uint64_t ta = a.events[a.position].time_ns;
    uint64_t tb = b.events[b.position].time_ns;
    return ta != tb ? ta < tb : a.chunk_offset < b.chunk_offset;
  }

  // Decodes the thread's next events: the next part of a chunk in time
  // order, or all of a chunk, sorted. False when none is left.
  bool refill(ThreadStream& t) {
    t.end = 0;
    t.position = 0;
    while (t.end == 0) {
      if (t.decoder.chunk_done()) {
        if (t.next_chunk >= t.chunks.size()) return false;
        t.chunk = &file_->chunks[t.chunks[t.next_chunk++]];
        const uint8_t* payload = file_->payload(*t.chunk, t.payload);
        if (collecting_ && t.chunk->checksum_deferred &&
            libdeflate_crc32(0, payload, t.chunk->length) != t.chunk->checksum) {
          throw RecordsNeedChecking("a chunk's checksum does not match");
        }
        t.decoder.start_chunk({payload, t.chunk->length}, t.chunk->head(), t.chunk->exact);
        t.chunk_offset = t.chunk->payload_offset;
        if (collecting_) {
          t.decoder.keep_records(&kept_, static_cast<uint32_t>(t.chunks[t.next_chunk - 1]));
          ++file_->chunks_walked;
        }
      }
      // A checked chunk that ran out ends at its last whole record.
      uint32_t kinds = 0;
      do {  // a part of a chunk in time order, else all of it
        // Room for a part, or for what is left of a small chunk: a walk of
        // a small trace does not clear room for thousands of events.
        const size_t part = std::min(kPartEvents, t.decoder.bytes_left() + 1);
        if (t.events.size() < t.end + part) t.events.resize(t.end + part);
        size_t written = 0;
        ChunkResult result = t.decoder.decode_events(std::span(t.events).subspan(t.end), written);
        t.end += written;
        kinds |= t.decoder.address_event_kinds();
        // Unchecked records are taken as the writer makes them: whole, each
        // chunk's events in time order. Anything else is for a checked read to judge.
        if (collecting_ && (result != ChunkResult::Ok || !t.decoder.events_in_time_order())) {
          throw RecordsNeedChecking("a chunk's records are not as written");
        }
      } while (!t.chunk->in_time_order && !t.decoder.chunk_done());
      if (t.decoder.chunk_done() && file_->fd < 0) {
        file_->release(t.chunk->payload_offset - sizeof(layout::ChunkHead),
                       sizeof(layout::ChunkHead) + t.chunk->length);
      }
      if (!t.decoder.events_in_time_order()) {
        std::stable_sort(t.events.begin(), t.events.begin() + static_cast<ptrdiff_t>(t.end),
                         [](const Event& a, const Event& b) { return a.time_ns < b.time_ns; });
      }
      t.needs_pairing = pairing_.acts_on_any(kinds);
    }
    return true;
  }

  // The walk is over: what it kept is the trace's.
  void finish_first_walk() {
    FirstWalk walk;
    walk.kept = std::move(kept_);
    for (const ThreadStream& t : threads_) {
      walk.records += t.decoder.records_seen();
      walk.record_bytes += t.decoder.record_bytes_seen();
    }
    file_->first_walk = std::move(walk);
    collecting_ = false;
  }

  std::shared_ptr<const TraceFileEvents> file_;
  std::vector<ThreadStream> threads_;
  FreePairing pairing_;
  std::vector<Event> out_;
  // The first walk over unchecked records keeps those that are not events.
  bool collecting_ = false;
  std::vector<KeptRecord> kept_;
};

EventCursor::EventCursor(std::span<const Event> memory) : memory_(memory) {}
EventCursor::EventCursor(std::shared_ptr<const TraceFileEvents> file, FreeFields fields)
    : stream_(std::make_unique<FileStream>(std::move(file), fields)) {}
EventCursor::EventCursor(EventCursor&&) noexcept = default;
EventCursor& EventCursor::operator=(EventCursor&&) noexcept = default;
EventCursor::~EventCursor() = default;

std::span<const Event> EventCursor::next() {
  if (stream_) return stream_->next();
  std::span<const Event> all = memory_;
  memory_ = {};
  return all;
}

std::vector<Event> EventLog::collect() const {
  std::vector<Event> all;
  for_each([&](size_t, const Event& e) { all.push_back(e); });
  return all;
}

size_t EventLog::count() const {
  size_t n = 0;
  for (EventCursor walk = cursor();;) {
    std::span<const Event> batch = walk.next();
    if (batch.empty()) return n;
    n += batch.size();
  }
}

}  // namespace vramscope::trace
