// Kineto Chrome traces into segments, blocks, failed allocations and ranges
// (the mapping is described in kineto_import.h); and the choice between
// the two importers by a file's first bytes.
#include "formats/kineto_import.h"

#include <algorithm>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "formats/imported_trace.h"
#include "formats/kineto_events.h"
#include "formats/profiler_input.h"

namespace vramscope::trace {

namespace {

using kineto::KinetoRecords;
using kineto::MemoryRecord;

// Made-up addresses lie far above any real device pointer (those stay under
// 2^57), so they never meet one: blocks that came without an address, and
// the segments that stand for reserved memory.
constexpr uint64_t kMadeUpBlocks = uint64_t{1} << 60;
constexpr uint64_t kMadeUpSegments = uint64_t{1} << 61;
constexpr uint64_t kAlignment = 512;  // the caching allocator's rounding

constexpr int32_t kOutOfMemory = 2;  // cudaErrorMemoryAllocation, as PyTorch's allocator got it

uint64_t rounded(uint64_t bytes) { return (bytes + kAlignment - 1) / kAlignment * kAlignment; }

// Nanoseconds from `origin` (the earliest) to `time`: the difference of two
// int64 can pass int64's range, never uint64's.
uint64_t since(int64_t origin, int64_t time) {
  return static_cast<uint64_t>(time) - static_cast<uint64_t>(origin);
}

// One device's memory records, in time order, into events.
//
// The segments are made up: the trace says how much is reserved, not where,
// so the blocks (at their real addresses) do not lie inside them. No heap is
// registered over the segments for that reason: the analyzer then counts the
// segments alone as reserved and the blocks alone as allocated, and its
// fragmentation map sees whole segments, not holes it cannot know.
class DeviceImport {
 public:
  DeviceImport(ImportedTrace& out, ProfilerImportNotes& notes, uint32_t device, bool has_reserved,
               uint64_t total_bytes, int64_t origin)
      : out_(out),
        notes_(notes),
        device_(device),
        block_kind_(has_reserved ? MemoryKind::Block : MemoryKind::Device),
        has_reserved_(has_reserved),
        total_bytes_(total_bytes),
        origin_(origin) {}

  void take(const MemoryRecord& r) {
    uint64_t time = since(origin_, r.time_ns);
    ThreadIndex thread{r.thread + 1};
    uint64_t reserved = r.total_reserved ? static_cast<uint64_t>(*r.total_reserved) : reserved_;
    if (has_reserved_ && r.total_reserved && !reserved_known_) {  // what the profile began with
      reserved_known_ = true;
      follow_reserved(reserved, 0, TieRank::AtStart);
    }
    // Reserved memory grows before the allocation that needed it, and
    // shrinks after a free (empty_cache).
    if (has_reserved_ && reserved > reserved_) follow_reserved(reserved, time, TieRank::Memory);
    if (r.out_of_memory) {
      failed(r, time, thread, reserved);
    } else {
      ++notes_.memory_events;
      if (r.bytes > 0) allocated(r, time, thread);
      if (r.bytes < 0) freed(r, time, thread);
      if (r.total_allocated) check_allocated(*r.total_allocated);
    }
    if (has_reserved_ && reserved < reserved_) follow_reserved(reserved, time, TieRank::Memory);
  }

  // Memory held all through the profile: where the events' running sum
  // stays a constant amount under their Total Allocated.
  void finish() {
    if (!difference_ || !difference_constant_) return;
    uint64_t held = *difference_ - pre_existing_bytes_;
    if (static_cast<int64_t>(held) > 0) pre_existing(made_up_block(held), held);
  }

 private:
  Event memory_event(EventType type, MemoryKind kind, uint64_t time, uint64_t address, uint64_t size,
                     ThreadIndex thread = {}) const {
    Event e;
    e.type = type;
    e.kind = kind;
    e.device = device_;
    e.time_ns = time;
    e.address = address;
    e.size = size;
    e.thread = thread;
    return e;
  }

  uint64_t made_up_block(uint64_t size) {
    uint64_t address = next_block_;
    next_block_ += rounded(size);
    return address;
  }

  void pre_existing(uint64_t address, uint64_t size) {
    out_.add(memory_event(EventType::Alloc, block_kind_, 0, address, size), TieRank::AtStart);
    pre_existing_bytes_ += size;
    ++notes_.pre_existing_blocks;
    notes_.pre_existing_bytes += size;
  }

  void allocated(const MemoryRecord& r, uint64_t time, ThreadIndex thread) {
    uint64_t size = static_cast<uint64_t>(r.bytes);
    uint64_t address = 0;
    if (r.address) {
      address = *r.address;
      seen_.insert(address);
      auto [at, added] = live_.emplace(address, size);
      if (!added) {  // its free is missing: the analyzer ends the old block here
        sum_ -= at->second;
        at->second = size;
      }
    } else {
      address = made_up_block(size);
      by_size_[size].push_back(address);
    }
    sum_ += size;
    out_.add(memory_event(EventType::Alloc, block_kind_, time, address, size, thread), TieRank::Memory);
  }

  void freed(const MemoryRecord& r, uint64_t time, ThreadIndex thread) {
    uint64_t size = uint64_t{0} - static_cast<uint64_t>(r.bytes);
    uint64_t address = 0;
    if (r.address) {
      address = *r.address;
      auto at = live_.find(address);
      if (at != live_.end()) {
        size = at->second;
        live_.erase(at);
      } else if (seen_.insert(address).second) {
        pre_existing(address, size);  // allocated before the profile began
      } else {
        ++notes_.unmatched_frees;
        return;
      }
    } else {
      std::vector<uint64_t>& same_size = by_size_[size];
      if (same_size.empty()) {
        address = made_up_block(size);
        pre_existing(address, size);
      } else {
        address = same_size.back();
        same_size.pop_back();
      }
    }
    sum_ -= size;
    out_.add(memory_event(EventType::Free, block_kind_, time, address, size, thread), TieRank::Memory);
  }

  void check_allocated(int64_t total_allocated) {
    uint64_t difference = static_cast<uint64_t>(total_allocated) - sum_;
    if (difference_ && *difference_ != difference) difference_constant_ = false;
    difference_ = difference;
  }

  void failed(const MemoryRecord& r, uint64_t time, ThreadIndex thread, uint64_t reserved) {
    ++notes_.out_of_memory_events;
    Event e = memory_event(EventType::FailedAlloc, MemoryKind::Device, time, 0,
                           static_cast<uint64_t>(std::max<int64_t>(r.bytes, 0)), thread);
    e.error = kOutOfMemory;
    // Free memory as this process saw it: what it did not reserve. What
    // other processes held is not in the trace.
    e.total_bytes = total_bytes_;
    e.free_bytes = total_bytes_ > reserved ? total_bytes_ - reserved : 0;
    out_.add(e, TieRank::Memory);
  }

  // Segments that add up to `reserved`: one more for growth; for a shrink,
  // the last made go first, the last one cut to size (freed, and the rest
  // made again).
  void follow_reserved(uint64_t reserved, uint64_t time, TieRank rank) {
    while (reserved_ > reserved) {
      auto [address, size] = segments_.back();
      segments_.pop_back();
      out_.add(memory_event(EventType::Free, MemoryKind::Device, time, address, size), rank);
      reserved_ -= size;
    }
    if (reserved_ < reserved) {
      uint64_t size = reserved - reserved_;
      uint64_t address = next_segment_;
      next_segment_ += rounded(size);
      segments_.emplace_back(address, size);
      out_.add(memory_event(EventType::Alloc, MemoryKind::Device, time, address, size), rank);
      reserved_ = reserved;
    }
  }

  ImportedTrace& out_;
  ProfilerImportNotes& notes_;
  uint32_t device_;
  MemoryKind block_kind_;
  bool has_reserved_;
  uint64_t total_bytes_;
  int64_t origin_;

  std::unordered_map<uint64_t, uint64_t> live_;                  // blocks with addresses: address to size
  std::unordered_set<uint64_t> seen_;                            // every address allocated or freed so far
  std::unordered_map<uint64_t, std::vector<uint64_t>> by_size_;  // blocks without: size to live addresses
  uint64_t next_block_ = kMadeUpBlocks;
  // Of the events' bytes, as the analyzer will count them; modulo 2^64, as
  // hostile sizes may wrap it (then Total Allocated never matches).
  uint64_t sum_ = 0;
  uint64_t pre_existing_bytes_ = 0;
  std::optional<uint64_t> difference_;  // Total Allocated - sum_
  bool difference_constant_ = true;

  std::vector<std::pair<uint64_t, uint64_t>> segments_;  // live: address, size
  uint64_t reserved_ = 0;
  bool reserved_known_ = false;
  uint64_t next_segment_ = kMadeUpSegments;
};

void add_devices(TraceContents& trace, const KinetoRecords& records) {
  std::map<uint32_t, DeviceInfo> devices;
  for (const kineto::DeviceRecord& d : records.devices)
    devices[d.id] = DeviceInfo{d.id, d.name, d.total_bytes, false};
  for (const MemoryRecord& r : records.memory)
    devices.try_emplace(r.device, DeviceInfo{r.device, "", 0, false});
  for (auto& [ordinal, device] : devices) trace.devices.push_back(device);
  trace.header.devices = trace.devices;
}

// Ranges: each slice a push at its start and a pop at its end. Of those at
// one time, outer ones push first and inner ones pop first.
void add_ranges(ImportedTrace& out, const KinetoRecords& records, int64_t origin,
                ProfilerImportNotes& notes) {
  for (const kineto::RangeRecord& r : records.ranges) {
    Event push;
    push.type = EventType::RangePush;
    push.thread = ThreadIndex{r.thread + 1};
    push.name = out.string(r.name);
    push.time_ns = since(origin, r.start_ns);
    Event pop = push;
    pop.type = EventType::RangePop;
    pop.time_ns = since(origin, r.end_ns);
    out.add(push, TieRank::RangeStart, -r.end_ns, r.order);
    out.add(pop, TieRank::RangeEnd, -r.start_ns, -static_cast<int64_t>(r.order));
    ++notes.ranges;
  }
}

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

}  // namespace

namespace profiler_input {

TraceContents import_kineto_text(const std::string& text, const std::string& source, uint64_t file_bytes,
                                 ProfilerImportNotes* notes_out) {
  KinetoRecords records = kineto::read_kineto_records(text, source);
  ProfilerImportNotes notes;
  notes.cpu_memory_events = records.other_memory_events;
  if (records.memory.empty()) {
    std::string other = records.other_memory_events
                            ? " (only " + std::to_string(records.other_memory_events) + " CPU memory events)"
                            : "";
    throw TraceError(source + ": no GPU memory events in this torch.profiler trace" + other +
                     "; profile with profile_memory=True");
  }
  int64_t origin = *records.earliest_ns;  // every memory record has a time
  ImportedTrace out(source);
  TraceContents& trace = out.trace;
  trace.file_bytes = file_bytes;
  trace.header.pid = records.pid.value_or(0);
  trace.header.rank = records.rank;
  trace.header.world_size = records.world_size;
  // Kineto's clock is the wall clock in microseconds on Linux.
  constexpr int64_t kYear2000Ns = 946'684'800'000'000'000;
  if (origin >= kYear2000Ns) trace.header.start_unix_ns = static_cast<uint64_t>(origin);
  for (size_t i = 0; i < records.threads.size(); ++i) {
    trace.threads.push_back(Thread{ThreadIndex{static_cast<uint32_t>(i + 1)}, records.threads[i].os_tid,
                                   records.threads[i].name});
  }
  add_devices(trace, records);

  std::stable_sort(records.memory.begin(), records.memory.end(),
                   [](const MemoryRecord& a, const MemoryRecord& b) { return a.time_ns < b.time_ns; });
  std::map<uint32_t, bool> has_reserved;
  for (const MemoryRecord& r : records.memory) has_reserved[r.device] |= r.total_reserved.has_value();
  std::map<uint32_t, DeviceImport> devices;
  for (auto [ordinal, reserved] : has_reserved) {
    uint64_t total = 0;
    for (const DeviceInfo& d : trace.devices) total = d.ordinal == ordinal ? d.total_bytes : total;
    devices.try_emplace(ordinal, out, notes, ordinal, reserved, total, origin);
  }
  for (const MemoryRecord& r : records.memory) devices.at(r.device).take(r);
  for (auto& [ordinal, device] : devices) device.finish();
  add_ranges(out, records, origin, notes);
  if (notes_out) *notes_out = notes;
  return out.finish();
}

}  // namespace profiler_input

TraceContents import_kineto_bytes(std::span<const uint8_t> bytes, const std::string& source,
                                  ProfilerImportNotes* notes) {
  if (bytes.empty()) throw TraceError(source + ": empty file, not a torch.profiler trace");
  return profiler_input::import_kineto_text(profiler_input::unpack(bytes, source), source, bytes.size(),
                                            notes);
}

TraceContents import_kineto_trace(const std::string& path, ProfilerImportNotes* notes) {
  return import_kineto_bytes(profiler_input::read_file(path), path, notes);
}

ProfilerFile sniff_profiler_text(std::string_view head) {
  if (head.starts_with("\xef\xbb\xbf")) head.remove_prefix(3);  // a byte-order mark
  size_t at = 0;
  while (at < head.size() && is_space(head[at])) ++at;
  if (at == head.size()) return ProfilerFile::Unknown;
  if (head[at] == '{') {
    bool chrome = head.find("\"traceEvents\"") != std::string_view::npos ||
                  head.find("\"schemaVersion\"") != std::string_view::npos;
    return chrome ? ProfilerFile::ChromeTrace : ProfilerFile::Unknown;
  }
  if (head[at] != '[') return ProfilerFile::Unknown;
  ++at;
  while (at < head.size() && is_space(head[at])) ++at;
  return at < head.size() && (head[at] == '[' || head[at] == ']') ? ProfilerFile::MemoryTimeline
                                                                  : ProfilerFile::Unknown;
}

ProfilerFile sniff_profiler_file(const std::string& path) {
  return sniff_profiler_text(profiler_input::read_head(path, 64 << 10));
}

TraceContents import_profiler_file(const std::string& path, ProfilerImportNotes* notes) {
  std::vector<uint8_t> bytes = profiler_input::read_file(path);
  std::string text = profiler_input::unpack(bytes, path);
  ProfilerFile kind = sniff_profiler_text(std::string_view(text).substr(0, 64 << 10));
  if (kind == ProfilerFile::Unknown) {
    throw TraceError(path +
                     ": neither a torch.profiler trace (a JSON object with traceEvents) nor a raw memory "
                     "timeline (a JSON list)");
  }
  if (kind == ProfilerFile::MemoryTimeline) {
    return profiler_input::import_memory_timeline_text(text, path, bytes.size(), notes);
  }
  return profiler_input::import_kineto_text(text, path, bytes.size(), notes);
}

}  // namespace vramscope::trace
