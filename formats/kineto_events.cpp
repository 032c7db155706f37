// One SAX pass over a Kineto Chrome trace: its memory events, step and
// annotation slices, thread names, devices and rank.
#include "formats/kineto_events.h"

#include <algorithm>
#include <map>
#include <unordered_map>

#include "formats/json_scanner.h"
#include "formats/profiler_input.h"
#include "formats/trace_reader.h"

namespace vramscope::trace::kineto {

namespace {

using profiler_input::JsonScalar;

// c10::DeviceType::CUDA, as `[memory]` events give "Device Type".
constexpr int64_t kCudaDevice = 1;
// A device ordinal past any machine's GPUs: a damaged field, not a device.
constexpr int64_t kMaxDeviceOrdinal = 1 << 16;

// The fields of one event that the import reads; everything else is skipped.
struct EventFields {
  JsonScalar name, ph, cat, ts, dur, pid, tid;
  // args
  JsonScalar device_type, device_id, address, bytes, total_allocated, total_reserved, arg_name;

  void clear() {
    for (JsonScalar* s : {&name, &ph, &cat, &ts, &dur, &pid, &tid, &device_type, &device_id, &address, &bytes,
                          &total_allocated, &total_reserved, &arg_name})
      s->clear();
  }
  JsonScalar* field(std::string_view key) {
    if (key == "name") return &name;
    if (key == "ph") return &ph;
    if (key == "cat") return &cat;
    if (key == "ts") return &ts;
    if (key == "dur") return &dur;
    if (key == "pid") return &pid;
    if (key == "tid") return &tid;
    return nullptr;
  }
  JsonScalar* arg(std::string_view key) {
    if (key == "Bytes") return &bytes;
    if (key == "Addr") return &address;
    if (key == "Total Allocated") return &total_allocated;
    if (key == "Total Reserved") return &total_reserved;
    if (key == "Device Type") return &device_type;
    if (key == "Device Id") return &device_id;
    if (key == "name") return &arg_name;
    return nullptr;
  }
};

std::optional<uint64_t> digits_value(std::string_view text) {
  uint64_t value = 0;
  if (text.empty()) return std::nullopt;
  for (char c : text) {
    if (c < '0' || c > '9' || __builtin_mul_overflow(value, 10, &value) ||
        __builtin_add_overflow(value, static_cast<uint64_t>(c - '0'), &value))
      return std::nullopt;
  }
  return value;
}

bool is_text(const JsonScalar& v, std::string_view text) {
  return v.type == JsonScalar::Type::String && v.text == text;
}

class KinetoReader : public JsonHandler {
 public:
  explicit KinetoReader(const std::string& source) : source_(source) {}

  void null() override {
    scalar([](JsonScalar& s) { s.type = JsonScalar::Type::Null; });
  }
  void boolean(bool) override {
    scalar([](JsonScalar& s) { s.type = JsonScalar::Type::Bool; });
  }
  void integer(int64_t v) override {
    scalar([v](JsonScalar& s) {
      s.type = JsonScalar::Type::Int;
      s.i = v;
    });
  }
  void unsigned_integer(uint64_t v) override {
    scalar([v](JsonScalar& s) {
      s.type = JsonScalar::Type::Unsigned;
      s.u = v;
    });
  }
  void number(double v, std::string_view text) override {
    scalar([&](JsonScalar& s) {
      s.type = JsonScalar::Type::Float;
      s.d = v;
      s.text.assign(text);
    });
  }
  void string(std::string_view v) override {
    scalar([&](JsonScalar& s) {
      s.type = JsonScalar::Type::String;
      s.text.assign(v);
    });
  }
  void start_object() override { open(true); }
  void start_array() override { open(false); }
  void end_object() override { close(); }
  void end_array() override { close(); }

  void key(std::string_view k) override {
    target_ = nullptr;
    if (depth_ == 1) {
      section_ = k == "traceEvents"        ? Section::Events
                 : k == "deviceProperties" ? Section::Devices
                 : k == "distributedInfo"  ? Section::Distributed
                                           : Section::Other;
      if (section_ == Section::Events) saw_events_ = true;
    } else if (section_ == Section::Events && depth_ == 3) {
      in_args_key_ = k == "args";
      target_ = event_.field(k);
    } else if (section_ == Section::Events && depth_ == 4 && in_args_) {
      target_ = event_.arg(k);
    } else if (section_ == Section::Devices && depth_ == 3) {
      target_ = k == "id"               ? &device_id_
                : k == "name"           ? &device_name_
                : k == "totalGlobalMem" ? &device_total_
                                        : nullptr;
    } else if (section_ == Section::Distributed && depth_ == 2) {
      target_ = k == "rank" ? &rank_ : k == "world_size" ? &world_size_ : nullptr;
    }
  }

  KinetoRecords finish() {
    if (!saw_events_) throw TraceError(source_ + ": not a torch.profiler trace (no traceEvents)");
    for (auto& [key, index] : thread_index_) {
      auto name = thread_names_.find(key);
      if (name != thread_names_.end()) records_.threads[index].name = name->second;
    }
    auto count = [](const JsonScalar& v) {
      std::optional<int64_t> i = profiler_input::as_int(v);
      return i && *i >= 0 && *i <= INT32_MAX ? static_cast<int32_t>(*i) : -1;
    };
    records_.rank = count(rank_);
    records_.world_size = count(world_size_);
    return std::move(records_);
  }

 private:
  enum class Section { Other, Events, Devices, Distributed };

  template <typename Set>
  void scalar(Set set) {
    if (depth_ == 0) not_a_trace();
    if (target_) set(*target_);
    target_ = nullptr;
  }

  void open(bool object) {
    if (depth_ == 0 && !object) not_a_trace();
    if (target_) target_->type = JsonScalar::Type::Composite;
    target_ = nullptr;
    ++depth_;
    if (depth_ == 2 && section_ == Section::Events && object) not_a_list("traceEvents");
    if (depth_ == 3 && section_ == Section::Events) {
      if (!object)
        throw TraceError(source_ + ": traceEvents[" + std::to_string(event_index_) + "] is not an object");
      event_.clear();
    }
    if (depth_ == 4 && section_ == Section::Events && in_args_key_ && object) in_args_ = true;
    if (depth_ == 2 && section_ == Section::Devices && object) not_a_list("deviceProperties");
    if (depth_ == 3 && section_ == Section::Devices) {
      for (JsonScalar* s : {&device_id_, &device_name_, &device_total_}) s->clear();
    }
    in_args_key_ = false;
  }

  void close() {
    if (depth_ == 4 && section_ == Section::Events) in_args_ = false;
    if (depth_ == 3 && section_ == Section::Events) {
      take_event();
      ++event_index_;
    }
    if (depth_ == 3 && section_ == Section::Devices) take_device();
    --depth_;
    if (depth_ == 1) section_ = Section::Other;
  }

  [[noreturn]] void not_a_trace() const {
    throw TraceError(source_ + ": not a torch.profiler trace (not a JSON object with traceEvents)");
  }
  [[noreturn]] void not_a_list(const char* what) const {
    throw TraceError(source_ + ": not a torch.profiler trace (" + what + " is not a list)");
  }

  // "x.json: traceEvents[12] ([memory]): "Bytes" is a string, not an integer".
  [[noreturn]] void bad_field(const char* field, const JsonScalar& value, const char* wanted) const {
    std::string name = event_.name.type == JsonScalar::Type::String ? " (" + event_.name.text + ")" : "";
    throw TraceError(source_ + ": traceEvents[" + std::to_string(event_index_) + "]" + name + ": \"" + field +
                     "\" is " + std::string(profiler_input::type_name(value)) + ", not " + wanted);
  }
  int64_t required_int(const char* field, const JsonScalar& v) const {
    std::optional<int64_t> i = profiler_input::as_int(v);
    if (!i) bad_field(field, v, "an integer");
    return *i;
  }
  std::optional<int64_t> optional_int(const char* field, const JsonScalar& v) const {
    if (!v.present() || v.type == JsonScalar::Type::Null) return std::nullopt;
    return required_int(field, v);
  }
  int64_t required_time(const char* field, const JsonScalar& v) const {
    std::optional<int64_t> ns = profiler_input::as_nanoseconds(v);
    if (!ns) bad_field(field, v, "a time in microseconds");
    return *ns;
  }

  uint32_t thread_of(const EventFields& e) {
    std::string key = profiler_input::as_key(e.pid) + '/' + profiler_input::as_key(e.tid);
    auto [at, added] = thread_index_.emplace(std::move(key), static_cast<uint32_t>(records_.threads.size()));
    if (added) {
      // Older traces write tids as strings of digits.
      std::optional<uint64_t> tid =
          e.tid.type == JsonScalar::Type::String ? digits_value(e.tid.text) : profiler_input::as_uint(e.tid);
      records_.threads.push_back(ThreadRecord{tid.value_or(0), ""});
    }
    return at->second;
  }

  void take_event() {
    const EventFields& e = event_;
    if (std::optional<int64_t> ts = profiler_input::as_nanoseconds(e.ts)) {
      records_.earliest_ns = std::min(records_.earliest_ns.value_or(*ts), *ts);
    }
    if (e.name.type != JsonScalar::Type::String) return;
    const std::string& name = e.name.text;
    if (name == "[memory]" || name == "[OutOfMemory]") {
      take_memory(name == "[OutOfMemory]");
    } else if (is_text(e.ph, "X") &&
               (is_text(e.cat, "user_annotation") || name.starts_with("ProfilerStep#"))) {
      int64_t start = required_time("ts", e.ts);
      int64_t duration = required_time("dur", e.dur);
      int64_t end = 0;
      // A slice of no time holds nothing, and would pop before it pushed.
      if (duration <= 0) return;
      if (__builtin_add_overflow(start, duration, &end)) bad_field("dur", e.dur, "a time in microseconds");
      uint32_t order = static_cast<uint32_t>(records_.ranges.size());
      records_.ranges.push_back(RangeRecord{start, end, order, thread_of(e), name});
    } else if (is_text(e.ph, "M") && name == "thread_name" && e.arg_name.type == JsonScalar::Type::String) {
      thread_names_[profiler_input::as_key(e.pid) + '/' + profiler_input::as_key(e.tid)] = e.arg_name.text;
    }
  }

  void take_memory(bool out_of_memory) {
    const EventFields& e = event_;
    int64_t type = required_int("Device Type", e.device_type);
    int64_t device = required_int("Device Id", e.device_id);
    int64_t bytes = required_int("Bytes", e.bytes);
    if (type != kCudaDevice) {
      ++records_.other_memory_events;
      return;
    }
    if (device < 0 || device > kMaxDeviceOrdinal)
      bad_field("Device Id", e.device_id, "a CUDA device ordinal");
    MemoryRecord r;
    r.time_ns = required_time("ts", e.ts);
    r.order = static_cast<uint32_t>(records_.memory.size());
    r.device = static_cast<uint32_t>(device);
    r.out_of_memory = out_of_memory;
    r.bytes = bytes;
    if (e.address.present() && e.address.type != JsonScalar::Type::Null) {
      r.address = profiler_input::as_uint(e.address);
      if (!r.address) bad_field("Addr", e.address, "an address");
    }
    r.total_allocated = optional_int("Total Allocated", e.total_allocated);
    r.total_reserved = optional_int("Total Reserved", e.total_reserved);
    if (r.total_allocated.value_or(0) < 0) bad_field("Total Allocated", e.total_allocated, "a byte count");
    if (r.total_reserved.value_or(0) < 0) bad_field("Total Reserved", e.total_reserved, "a byte count");
    r.thread = thread_of(e);
    if (!records_.pid) {
      std::optional<int64_t> pid = profiler_input::as_int(e.pid);
      if (pid && *pid > 0 && *pid <= UINT32_MAX) records_.pid = static_cast<uint32_t>(*pid);
    }
    records_.memory.push_back(r);
  }

  void take_device() {
    std::optional<int64_t> id = profiler_input::as_int(device_id_);
    if (!id || *id < 0 || *id > kMaxDeviceOrdinal) return;  // not a device the events can name
    DeviceRecord d;
    d.id = static_cast<uint32_t>(*id);
    if (device_name_.type == JsonScalar::Type::String) d.name = device_name_.text;
    d.total_bytes = profiler_input::as_uint(device_total_).value_or(0);
    records_.devices.push_back(std::move(d));
  }

  const std::string& source_;
  size_t depth_ = 0;
  Section section_ = Section::Other;
  bool saw_events_ = false;
  JsonScalar* target_ = nullptr;  // where the next scalar goes, if anywhere
  bool in_args_key_ = false;      // the value about to open is an event's args
  bool in_args_ = false;
  size_t event_index_ = 0;
  EventFields event_;
  JsonScalar device_id_, device_name_, device_total_;
  JsonScalar rank_, world_size_;
  std::unordered_map<std::string, uint32_t> thread_index_;  // "pid/tid" to index
  std::unordered_map<std::string, std::string> thread_names_;
  KinetoRecords records_;
};

}  // namespace

KinetoRecords read_kineto_records(std::string_view json, const std::string& source) {
  KinetoReader reader(source);
  scan_json(json, reader, source);
  return reader.finish();
}

}  // namespace vramscope::trace::kineto
