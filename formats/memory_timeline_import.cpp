// Raw memory timelines (torch.profiler's export_memory_timeline to
// .raw.json[.gz]) into device memory with each tensor's category named in
// its stack; the mapping is described in kineto_import.h.
#include <algorithm>
#include <array>
#include <map>
#include <utility>

#include "formats/imported_trace.h"
#include "formats/json_scanner.h"
#include "formats/kineto_import.h"
#include "formats/profiler_input.h"

namespace vramscope::trace {

namespace {

using profiler_input::JsonScalar;

// The timeline's category index (torch.profiler's _CATEGORY_TO_INDEX) to
// the analyzer's category name. Ours has no "autograd detail": it and the
// profiler's own "unknown" (None) stay unknown.
constexpr std::array<const char*, 8> kCategoryNames = {
    "parameters",  "optimizer state", "inputs",  "temporaries",
    "activations", "gradients",       "unknown", "unknown",
};

enum Action : int64_t { kPreexisting = 1, kCreate = 2, kIncrementVersion = 3, kDestroy = 4 };

// Times past this are nanoseconds: the export wrote nanoseconds in some
// PyTorch versions, microseconds in others, since the epoch either way.
constexpr int64_t kNanosecondsFrom = 100'000'000'000'000'000;

// Made-up addresses: the timeline says nothing of where tensors lie.
constexpr uint64_t kFirstAddress = uint64_t{1} << 40;
constexpr uint64_t kAlignment = 512;

struct Row {
  int64_t time = 0;  // as written; negative for pre-existing tensors
  int64_t action = 0;
  int64_t bytes = 0;
  int64_t category = 0;
};

// The rows, in one SAX pass: a list of lists of four integers.
class RowReader : public JsonHandler {
 public:
  explicit RowReader(const std::string& source) : source_(source) {}

  void null() override { scalar(of(JsonScalar::Type::Null)); }
  void boolean(bool) override { scalar(of(JsonScalar::Type::Bool)); }
  void integer(int64_t v) override {
    JsonScalar s = of(JsonScalar::Type::Int);
    s.i = v;
    scalar(s);
  }
  void unsigned_integer(uint64_t v) override {
    JsonScalar s = of(JsonScalar::Type::Unsigned);
    s.u = v;
    scalar(s);
  }
  void number(double v, std::string_view) override {
    JsonScalar s = of(JsonScalar::Type::Float);
    s.d = v;
    scalar(s);
  }
  void string(std::string_view) override { scalar(of(JsonScalar::Type::String)); }
  void key(std::string_view) override {}
  void start_object() override {
    if (depth_ == 0) not_a_timeline();
    row_error("is an object, not [time, action, bytes, category]");
  }
  void start_array() override {
    if (depth_ == 2) row_error("holds a list where a number belongs");
    ++depth_;
    fields_ = 0;
  }
  void end_object() override {}
  void end_array() override {
    if (depth_ == 2) {
      if (fields_ != 4)
        row_error("has " + std::to_string(fields_) + " values, not [time, action, bytes, category]");
      if (row_.action < kPreexisting || row_.action > kDestroy) {
        row_error("has action " + std::to_string(row_.action) +
                  " (1 pre-existing, 2 create, 3 new version, 4 destroy)");
      }
      rows.push_back(row_);
    }
    --depth_;
  }

  std::vector<Row> rows;

 private:
  static JsonScalar of(JsonScalar::Type type) {
    JsonScalar s;
    s.type = type;
    return s;
  }

  [[noreturn]] void not_a_timeline() const {
    throw TraceError(source_ +
                     ": not a raw memory timeline (a JSON list of [time, action, bytes, category])");
  }
  [[noreturn]] void row_error(const std::string& what) const {
    throw TraceError(source_ + ": row " + std::to_string(rows.size()) + " " + what);
  }

  void scalar(const JsonScalar& value) {
    if (depth_ < 2) depth_ == 0 ? not_a_timeline() : row_error("is a single value, not a list");
    std::optional<int64_t> v = profiler_input::as_int(value);
    if (!v) {
      row_error("value " + std::to_string(fields_) + " is " + std::string(profiler_input::type_name(value)) +
                ", not an integer");
    }
    if (fields_ == 4) row_error("has more than 4 values, not [time, action, bytes, category]");
    int64_t* slots[] = {&row_.time, &row_.action, &row_.bytes, &row_.category};
    *slots[fields_++] = *v;
  }

  const std::string& source_;
  size_t depth_ = 0;
  size_t fields_ = 0;
  Row row_;
};

class TimelineImport {
 public:
  TimelineImport(ImportedTrace& out, ProfilerImportNotes& notes, int64_t origin, bool nanoseconds)
      : out_(out), notes_(notes), origin_(origin), nanoseconds_(nanoseconds) {
    for (size_t c = 0; c < kCategoryNames.size(); ++c) {
      stacks_[c] = out_.frame_stack(std::string(kNamedCategoryFile) + " " + kCategoryNames[c],
                                    std::string(kNamedCategoryFile));
    }
  }

  void take(const Row& r) {
    size_t category = r.category >= 0 && r.category < 8 ? static_cast<size_t>(r.category) : 7;
    if (r.bytes == 0) return;
    ++notes_.memory_events;
    bool at_start = r.action == kPreexisting || r.time < 0;
    uint64_t time = at_start ? 0 : time_of(r.time);
    uint64_t size =
        r.bytes > 0 ? static_cast<uint64_t>(r.bytes) : uint64_t{0} - static_cast<uint64_t>(r.bytes);
    std::vector<uint64_t>& same = live_[{category, size}];
    if (r.bytes > 0) {
      uint64_t address = next_address(size);
      same.push_back(address);
      add(EventType::Alloc, at_start ? TieRank::AtStart : TieRank::Memory, time, address, size, category);
      if (at_start) {
        ++notes_.pre_existing_blocks;
        notes_.pre_existing_bytes += size;
      }
      return;
    }
    uint64_t address = 0;
    if (same.empty()) {  // made before the timeline began
      address = next_address(size);
      add(EventType::Alloc, TieRank::AtStart, 0, address, size, category);
      ++notes_.pre_existing_blocks;
      notes_.pre_existing_bytes += size;
    } else {
      address = same.back();
      same.pop_back();
    }
    add(EventType::Free, TieRank::Memory, time, address, size, category);
  }

 private:
  uint64_t time_of(int64_t t) const {
    int64_t ns = nanoseconds_ ? t : (t > INT64_MAX / 1000 ? INT64_MAX : t * 1000);
    int64_t origin_ns = nanoseconds_ ? origin_ : origin_ * 1000;
    return static_cast<uint64_t>(ns - origin_ns);
  }
  uint64_t next_address(uint64_t size) {
    uint64_t address = next_;
    next_ += (size + kAlignment - 1) / kAlignment * kAlignment;
    return address;
  }
  void add(EventType type, TieRank rank, uint64_t time, uint64_t address, uint64_t size, size_t category) {
    Event e;
    e.type = type;
    e.kind = MemoryKind::Device;
    e.time_ns = time;
    e.address = address;
    e.size = size;
    e.stack = stacks_[category];
    out_.add(e, rank);
  }

  ImportedTrace& out_;
  ProfilerImportNotes& notes_;
  int64_t origin_;
  bool nanoseconds_;
  std::array<StackId, kCategoryNames.size()> stacks_;
  std::map<std::pair<size_t, uint64_t>, std::vector<uint64_t>> live_;  // (category, size) to live addresses
  uint64_t next_ = kFirstAddress;
};

}  // namespace

namespace profiler_input {

TraceContents import_memory_timeline_text(const std::string& text, const std::string& source,
                                          uint64_t file_bytes, ProfilerImportNotes* notes_out) {
  RowReader reader(source);
  scan_json(text, reader, source);
  std::vector<Row>& rows = reader.rows;
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.time < b.time; });
  int64_t origin = 0;
  int64_t latest = 0;
  bool any_time = false;
  for (const Row& r : rows) {
    if (r.time < 0) continue;
    origin = any_time ? std::min(origin, r.time) : r.time;
    latest = std::max(latest, r.time);
    any_time = true;
  }
  // Microseconds past 2^63 ns would wrap: only nanoseconds come that large.
  bool nanoseconds = latest >= kNanosecondsFrom || latest > INT64_MAX / 1000;

  ProfilerImportNotes notes;
  ImportedTrace out(source);
  out.trace.file_bytes = file_bytes;
  constexpr int64_t kYear2000Us = 946'684'800'000'000;
  int64_t origin_ns = nanoseconds ? origin : origin * 1000;
  if (any_time && origin_ns >= kYear2000Us * 1000)
    out.trace.header.start_unix_ns = static_cast<uint64_t>(origin_ns);
  TimelineImport timeline(out, notes, origin, nanoseconds);
  for (const Row& r : rows) timeline.take(r);
  if (notes_out) *notes_out = notes;
  return out.finish();
}

}  // namespace profiler_input

TraceContents import_memory_timeline_bytes(std::span<const uint8_t> bytes, const std::string& source,
                                           ProfilerImportNotes* notes) {
  if (bytes.empty()) throw TraceError(source + ": empty file, not a raw memory timeline");
  return profiler_input::import_memory_timeline_text(profiler_input::unpack(bytes, source), source,
                                                     bytes.size(), notes);
}

TraceContents import_memory_timeline(const std::string& path, ProfilerImportNotes* notes) {
  return import_memory_timeline_bytes(profiler_input::read_file(path), path, notes);
}

}  // namespace vramscope::trace
