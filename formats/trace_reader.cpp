// Reads a trace file: validates the header, walks the chunks, decodes the
// records (record_decoder.cpp), then orders and pairs the events.
#include "formats/trace_reader.h"

#include <fcntl.h>
#include <libdeflate.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "formats/record_decoder.h"
#include "formats/trace_layout.h"

namespace vramscope::trace {

namespace {

std::string offset_text(uint64_t offset) { return "byte offset " + std::to_string(offset); }

Header decode_header(std::span<const uint8_t> payload, const std::string& source) {
  ByteCursor in(payload);
  Header h;
  h.clock = in.string();
  h.start_ns = in.varint();
  h.start_unix_ns = in.varint();
  h.ticks_per_second = in.varint();
  h.pid = static_cast<uint32_t>(in.varint());
  h.parent_pid = static_cast<uint32_t>(in.varint());
  h.host = in.string();
  h.rank = static_cast<int32_t>(layout::unzigzag(in.varint()));
  h.local_rank = static_cast<int32_t>(layout::unzigzag(in.varint()));
  h.world_size = static_cast<int32_t>(layout::unzigzag(in.varint()));
  uint64_t argc = in.varint();
  for (uint64_t i = 0; i < argc && in.ok(); ++i) h.command_line.push_back(in.string());
  uint64_t device_count = in.varint();
  for (uint64_t i = 0; i < device_count && in.ok(); ++i) {
    DeviceInfo d;
    d.ordinal = static_cast<uint32_t>(in.varint());
    d.name = in.string();
    d.total_bytes = in.varint();
    d.simulated = in.byte() != 0;
    h.devices.push_back(std::move(d));
  }
  if (!in.ok()) throw TraceError(source + ": corrupt trace header");
  h.version = kFormatVersion;
  return h;
}

// Every chunk head of the file, read once, without mapping their pages (see
// TraceFileEvents::fd): the tick rate and the chunk list both need them.
std::vector<layout::ChunkHead> read_heads(const TraceFileEvents& file, uint64_t first_chunk,
                                          uint64_t chunk_bytes, const std::string& source) {
  std::vector<layout::ChunkHead> heads;
  for (uint64_t offset = first_chunk; offset + sizeof(layout::ChunkHead) <= file.size;
       offset += chunk_bytes) {
    if (!file.read_at(offset, &heads.emplace_back(), sizeof(layout::ChunkHead))) {
      throw TraceError("cannot read " + source + ": " + std::strerror(errno));
    }
  }
  return heads;
}

// Ticks per second. The header has the injector's calibration at start; chunk
// heads anchor both clocks again and again, and over a long run (more than
// a second between the first and the last) they give the rate more precisely.
double tick_rate(const std::vector<layout::ChunkHead>& heads, const Header& header) {
  if (header.ticks_per_second == 0) return 0;
  uint64_t min_ns = UINT64_MAX, min_ticks = 0, max_ns = 0, max_ticks = 0;
  for (const layout::ChunkHead& head : heads) {
    if (head.magic != layout::kChunkMagic) continue;
    if (head.base_time_ns < min_ns) min_ns = head.base_time_ns, min_ticks = head.base_ticks;
    if (head.base_time_ns > max_ns) max_ns = head.base_time_ns, max_ticks = head.base_ticks;
  }
  if (max_ns > min_ns && max_ns - min_ns > 1'000'000'000ull && max_ticks > min_ticks) {
    return static_cast<double>(max_ticks - min_ticks) * 1e9 / static_cast<double>(max_ns - min_ns);
  }
  return static_cast<double>(header.ticks_per_second);
}

}  // namespace

namespace {

// Every chunk's ticks on one line to the clock. Each chunk head anchors its
// ticks to the clock, but two anchors of two threads disagree by however long
// a thread was held up between its two readings, and by the clock's own
// slewing against the ticks: a free on one thread could then come after the
// allocation that reused its address on another. So the ticks alone order
// events, mapped to nanoseconds through the earliest anchor at the trace's
// tick rate (the anchors of the run give that rate).
class OneClock {
 public:
  OneClock(const std::vector<layout::ChunkHead>& heads, double ticks_per_second)
      : ns_per_tick_(ticks_per_second > 0 ? 1e9 / ticks_per_second : 0) {
    for (const layout::ChunkHead& head : heads) {
      if (head.magic != layout::kChunkMagic) continue;
      if (!anchored_ || head.base_time_ns < anchor_.base_time_ns) anchor_ = head;
      anchored_ = true;
    }
  }
  layout::ChunkHead place(layout::ChunkHead head) const {
    if (!anchored_ || ns_per_tick_ == 0 || head.magic != layout::kChunkMagic) return head;
    const double since =
        (static_cast<double>(head.base_ticks) - static_cast<double>(anchor_.base_ticks)) * ns_per_tick_;
    const double ns = static_cast<double>(anchor_.base_time_ns) + since;
    if (ns > 0 && ns < 1.8e19) head.base_time_ns = static_cast<uint64_t>(ns + 0.5);
    return head;
  }

 private:
  double ns_per_tick_;
  layout::ChunkHead anchor_{};
  bool anchored_ = false;
};

// Whether the trace stops before its end, once every record is known.
void decide_cut_short(TraceContents& trace, std::string cut_reason, uint64_t chunks_in_file) {
  if (trace.end && chunks_in_file < trace.end->chunks && cut_reason.empty()) {
    cut_reason = "the file holds " + std::to_string(chunks_in_file) + " of its " +
                 std::to_string(trace.end->chunks) +
                 " chunks: the disk filled up while it was written, or the file was cut since";
  }
  if (!trace.end) {
    trace.cut_short = true;
    trace.cut_short_reason =
        !cut_reason.empty() ? cut_reason : "no end record: the process was killed, or is still running";
  } else if (!cut_reason.empty()) {
    trace.cut_short = true;
    trace.cut_short_reason = cut_reason;
  }
}

TraceContents read_trace(std::shared_ptr<TraceFileEvents> file, const std::string& source,
                         RecordCheck check) {
  using layout::ChunkHead;
  const std::span<const uint8_t> bytes(file->bytes, file->size);
  using layout::FilePrefix;
  if (bytes.empty()) throw TraceError(source + ": empty file, not a vramscope trace");
  if (bytes.size() < sizeof(layout::kFileMagic) ||
      std::memcmp(bytes.data(), layout::kFileMagic, sizeof layout::kFileMagic) != 0) {
    throw TraceError(source + ": not a vramscope trace");
  }
  if (bytes.size() < sizeof(FilePrefix)) {
    throw TraceError(source + ": trace header is incomplete (the file was cut short at " +
                     std::to_string(bytes.size()) + " bytes)");
  }
  FilePrefix prefix;
  std::memcpy(&prefix, bytes.data(), sizeof prefix);
  if (prefix.version > kFormatVersion) {
    throw TraceError(source + ": made by a newer vramscope (trace format " + std::to_string(prefix.version) +
                     ", this one reads up to " + std::to_string(kFormatVersion) + ")");
  }
  if (prefix.version == 0 || prefix.chunk_bytes < 4096 || prefix.chunk_bytes > (64u << 20) ||
      prefix.header_total_bytes < sizeof prefix + prefix.header_payload_bytes) {
    throw TraceError(source + ": corrupt trace header");
  }
  if (bytes.size() < sizeof prefix + prefix.header_payload_bytes) {
    throw TraceError(source + ": trace header is incomplete (the file was cut short at " +
                     std::to_string(bytes.size()) + " bytes)");
  }
  auto header_payload = bytes.subspan(sizeof prefix, prefix.header_payload_bytes);
  if (libdeflate_crc32(0, header_payload.data(), header_payload.size()) != prefix.payload_crc) {
    throw TraceError(source + ": corrupt trace header (checksum mismatch)");
  }

  TraceContents trace;
  trace.source = source;
  trace.file_bytes = bytes.size();
  trace.header = decode_header(header_payload, source);
  const uint64_t chunk_bytes = prefix.chunk_bytes;
  const std::vector<ChunkHead> heads = read_heads(*file, prefix.header_total_bytes, chunk_bytes, source);
  file->ticks_per_second = tick_rate(heads, trace.header);
  file->start_ns = trace.header.start_ns;
  const OneClock clock(heads, file->ticks_per_second);
  RecordDecoder decoder(&trace, file->ticks_per_second, file->start_ns);
  for (const auto& d : trace.header.devices) decoder.add_device(d);

  std::string cut_reason;
  uint64_t chunks_in_file = 0;
  const uint64_t capacity = chunk_bytes - sizeof(ChunkHead);
  for (uint64_t offset = prefix.header_total_bytes; offset < bytes.size(); offset += chunk_bytes) {
    uint64_t available_total = bytes.size() - offset;
    if (available_total < sizeof(ChunkHead)) {
      bool all_zero = std::all_of(bytes.begin() + static_cast<ptrdiff_t>(offset), bytes.end(),
                                  [](uint8_t b) { return b == 0; });
      if (!all_zero) cut_reason = "the file ends inside a chunk header at " + offset_text(offset);
      break;
    }
    const ChunkHead head = clock.place(heads[chunks_in_file++]);  // the heads' offsets are these
    if (head.magic == 0) continue;  // claimed by a writer that was killed before it wrote, or never claimed
    if (head.magic != layout::kChunkMagic) {
      throw TraceError(source + ": corrupt chunk at " + offset_text(offset) + " (bad chunk marker)");
    }
    uint64_t available = std::min<uint64_t>(capacity, available_total - sizeof head);
    bool truncated = available < capacity;
    auto payload = bytes.subspan(offset + sizeof head, available);
    if (head.sealed_length > capacity) {
      throw TraceError(source + ": corrupt chunk at " + offset_text(offset) + " (bad length)");
    }
    ChunkRef chunk{
        offset + sizeof head, static_cast<uint32_t>(available), false, head.thread, head.base_time_ns,
        head.base_ticks};
    if (head.sealed_length != 0 && head.sealed_length <= available) {
      auto sealed = payload.first(head.sealed_length);
      if (check == RecordCheck::OnFirstWalk) {
        chunk.checksum_deferred = true;
        chunk.checksum = head.crc;
      } else if (libdeflate_crc32(0, sealed.data(), sealed.size()) != head.crc) {
        throw TraceError(source + ": corrupt chunk at " + offset_text(offset) + " (checksum mismatch)");
      }
      chunk.length = head.sealed_length;
      chunk.exact = true;
    }
    ChunkResult result = ChunkResult::Ok;
    if (check == RecordCheck::Now) {
      result = decoder.decode_chunk(payload.first(chunk.length), head, chunk.exact, nullptr);
      chunk.in_time_order = decoder.chunk_in_time_order();
    } else {
      chunk.in_time_order = true;  // taken as written: the first walk checks
    }
    file->chunks.push_back(chunk);
    if (check == RecordCheck::Now)
      file->release(offset, sizeof head + chunk.length);  // else only its head was read
    if (result == ChunkResult::Corrupt) {
      throw TraceError(source + ": corrupt chunk at " + offset_text(offset) + " (" + decoder.error() + ")");
    }
    if (result == ChunkResult::RanOut) {
      if (!truncated) {
        throw TraceError(source + ": corrupt chunk at " + offset_text(offset) + " (record overruns its chunk)");
      }
      cut_reason = "the file ends inside a chunk at " + offset_text(offset);
    } else if (truncated && head.sealed_length > available) {
      cut_reason = "the file ends inside a chunk at " + offset_text(offset);
    }
  }

  if (check == RecordCheck::OnFirstWalk) {
    file->records_deferred = true;
    file->cut_reason = std::move(cut_reason);
    file->chunks_in_file = chunks_in_file;
  } else {
    decoder.finish();
    trace.record_count = decoder.records_seen();
    trace.record_bytes = decoder.record_bytes_seen();
    decide_cut_short(trace, std::move(cut_reason), chunks_in_file);
  }
  trace.events = EventLog(std::move(file));
  return trace;
}

}  // namespace

void finish_first_walk(TraceContents& trace) {
  const TraceFileEvents* file = trace.events.file();
  if (!file || !file->records_deferred) return;
  if (!file->first_walk) throw RecordsNeedChecking("no walk has gone through the trace's records");
  const FirstWalk& walk = *file->first_walk;
  std::vector<KeptRecord> kept = walk.kept;
  // In file order, as a checked read meets them: a later device record
  // overrides an earlier one, the first end record wins.
  std::sort(kept.begin(), kept.end(), [](const KeptRecord& a, const KeptRecord& b) {
    return a.chunk != b.chunk ? a.chunk < b.chunk : a.offset < b.offset;
  });
  RecordDecoder decoder(&trace, file->ticks_per_second, file->start_ns);
  for (const KeptRecord& record : kept) {
    const ChunkRef& chunk = file->chunks.at(record.chunk);
    if (!decoder.replay({file->bytes + chunk.payload_offset, chunk.length}, chunk.head(), record)) {
      throw RecordsNeedChecking("a kept record does not decode again");
    }
  }
  decoder.finish();
  trace.record_count = walk.records;
  trace.record_bytes = walk.record_bytes;
  decide_cut_short(trace, file->cut_reason, file->chunks_in_file);
}

TraceContents read_trace_bytes(std::span<const uint8_t> bytes, const std::string& source, RecordCheck check) {
  auto file = std::make_shared<TraceFileEvents>();
  file->owned.assign(bytes.begin(), bytes.end());
  file->bytes = file->owned.data();
  file->size = file->owned.size();
  return read_trace(std::move(file), source, check);
}

TraceContents read_trace_file(const std::string& path, RecordCheck check) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw TraceError("cannot open " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    int error = errno;
    ::close(fd);
    throw TraceError("cannot read " + path + ": " + (error ? std::strerror(error) : "not a regular file"));
  }
  size_t size = static_cast<size_t>(st.st_size);
  if (size == 0) {
    ::close(fd);
    return read_trace_bytes({}, path, check);
  }
  void* memory = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (memory == MAP_FAILED) {
    int error = errno;
    ::close(fd);
    throw TraceError("cannot read " + path + ": " + std::strerror(error));
  }
  // Read front to back, more than once: let the kernel read ahead.
  madvise(memory, size, MADV_SEQUENTIAL);
  auto file = std::make_shared<TraceFileEvents>();
  file->bytes = static_cast<const uint8_t*>(memory);
  file->size = size;
  file->mapped = true;
  file->fd = fd;
  file->path = path;
  return read_trace(std::move(file), path, check);
}

TraceFileEvents::~TraceFileEvents() {
  if (mapped && bytes) munmap(const_cast<uint8_t*>(bytes), size);
  if (fd >= 0) ::close(fd);
}

}  // namespace vramscope::trace
