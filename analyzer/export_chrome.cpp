// Chrome trace JSON: a first walk counts each device's changes (and finds
// the trace's end), a second writes the events as they come; failed
// allocations, leaks and names follow at the end. The format:
// https://docs.google.com/document/d/1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU
#include "analyzer/export_chrome.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <concepts>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string_view>
#include <unordered_map>

#include "analyzer/leak_finder.h"
#include "analyzer/live_memory.h"
#include "analyzer/report.h"
#include "analyzer/stack_resolver.h"
#include "analyzer/symbolizer.h"
#include "analyzer/text_layout.h"
#include "analyzer/timeline_buckets.h"
#include "formats/human_size.h"

namespace vramscope::analysis {

namespace {

// A JSON string; bytes that are not UTF-8 (a name from the job) are replaced.
std::string json_string(const std::string& text) {
  return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Microseconds, exact to the nanosecond: written "1234.567".
struct Micros {
  uint64_t ns;
};
Micros micros(uint64_t ns) { return Micros{ns}; }

// The trace events array, one event a line, written as they come through a
// buffer of its own: an export may write a hundred million points.
class EventWriter {
 public:
  explicit EventWriter(std::ostream& out) : out_(out) {
    buffer_.reserve(kFlushBytes + 4096);
    *this << "{\"traceEvents\":[\n";
  }

  // Starts the next event: what follows is its JSON object.
  EventWriter& next() {
    if (!first_) buffer_ += ",\n";
    first_ = false;
    if (buffer_.size() >= kFlushBytes) flush();
    return *this;
  }
  EventWriter& operator<<(std::string_view text) {
    buffer_ += text;
    return *this;
  }
  template <std::integral T>
  EventWriter& operator<<(T n) {
    char digits[24];
    buffer_.append(digits, std::to_chars(digits, digits + sizeof digits, n).ptr);
    return *this;
  }
  EventWriter& operator<<(Micros t) {
    *this << t.ns / 1000;
    char fraction[4] = {'.', static_cast<char>('0' + t.ns / 100 % 10),
                        static_cast<char>('0' + t.ns / 10 % 10), static_cast<char>('0' + t.ns % 10)};
    buffer_.append(fraction, sizeof fraction);
    return *this;
  }
  void finish(const std::string& source) {
    *this << "\n],\n\"displayTimeUnit\":\"ns\",\n\"otherData\":{\"exporter\":\"vramscope\",\"trace\":"
          << json_string(source) << "}}\n";
    flush();
  }

 private:
  static constexpr size_t kFlushBytes = size_t{1} << 20;
  void flush() {
    out_.write(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
    buffer_.clear();
  }

  std::ostream& out_;
  std::string buffer_;
  bool first_ = true;
};

// One counter track: the last point written (a track starts at 0) and,
// thinned, the highest value in the bucket under way.
struct CounterLine {
  std::string name;  // "GPU 0 allocated", as a JSON string
  uint64_t highest = 0;
  uint64_t written = 0;
};

struct DeviceCounters {
  uint64_t reserved = 0;  // live device memory
  uint64_t blocks = 0;    // live tensor blocks
  bool has_blocks = false;
  uint64_t reserved_changes = 0;  // counted by the first walk
  uint64_t block_changes = 0;
  bool thinned = false;
  std::optional<size_t> bucket;  // the bucket under way, when thinned
  CounterLine allocated_line;
  CounterLine reserved_line;

  // Allocated is the tensor blocks, or without any the same as reserved.
  uint64_t allocated() const { return has_blocks ? blocks : reserved; }
  uint64_t allocated_changes() const { return has_blocks ? block_changes : reserved_changes; }
  // visit(line, value now) for each track.
  template <typename Visit>
  void for_each_line(Visit&& visit) {
    visit(allocated_line, allocated());
    visit(reserved_line, reserved);
  }
};

// Each device's allocated and reserved bytes as the live set changes.
class Counters {
 public:
  explicit Counters(std::optional<uint32_t> only) : only_(only) {}

  // The devices whose bytes `change` moves, once each: at most two (an
  // allocation and the one it displaced). Entries stay where they are.
  struct Touched {
    std::array<DeviceCounters*, 2> devices{};
    size_t count = 0;
    auto begin() const { return devices.begin(); }
    auto end() const { return devices.begin() + static_cast<ptrdiff_t>(count); }
  };
  Touched touched(const LiveChange& change) {
    Touched touched;
    auto add = [&](const Allocation& a) {
      if (!counts(a)) return;
      DeviceCounters* d = &device(a.device);
      if (touched.count == 0 || touched.devices[0] != d) touched.devices[touched.count++] = d;
    };
    if (change.displaced) add(*change.displaced);
    if (change.what == LiveChange::What::Allocated || change.what == LiveChange::What::Freed) {
      add(change.allocation);
    }
    return touched;
  }
  void apply(const LiveChange& change) {
    if (change.displaced) move(*change.displaced, false);
    if (change.what == LiveChange::What::Allocated) move(change.allocation, true);
    if (change.what == LiveChange::What::Freed) move(change.allocation, false);
  }
  DeviceCounters& device(uint32_t ordinal) {
    if (last_ != nullptr && ordinal == last_ordinal_) return *last_;
    auto [slot, added] = devices_.try_emplace(ordinal);
    if (added) {
      std::string gpu = "GPU " + std::to_string(ordinal);
      slot->second.allocated_line.name = json_string(gpu + " allocated");
      slot->second.reserved_line.name = json_string(gpu + " reserved");
    }
    last_ordinal_ = ordinal;
    last_ = &slot->second;
    return *last_;
  }
  std::map<uint32_t, DeviceCounters>& devices() { return devices_; }

 private:
  bool counts(const Allocation& a) const {
    if (only_ && a.device != *only_) return false;
    return trace::occupies_device_memory(a.kind) || a.kind == trace::MemoryKind::Block;
  }
  void move(const Allocation& a, bool made) {
    if (!counts(a)) return;
    DeviceCounters& d = device(a.device);
    uint64_t& bytes = a.kind == trace::MemoryKind::Block ? d.blocks : d.reserved;
    if (a.kind == trace::MemoryKind::Block && made) d.has_blocks = true;
    bytes = made ? bytes + a.size : bytes - a.size;
  }

  std::optional<uint32_t> only_;
  std::map<uint32_t, DeviceCounters> devices_;
  uint32_t last_ordinal_ = 0;
  DeviceCounters* last_ = nullptr;  // the last device looked up
};

// What the first walk learns: each device's changes, and the trace's end.
struct Survey {
  std::map<uint32_t, DeviceCounters> devices;
  uint64_t end_ns = 0;
};

Survey survey(const trace::TraceContents& trace, std::optional<uint32_t> only) {
  Counters counters(only);
  Survey result;
  result.end_ns = trace.end ? trace.end->time_ns : 0;
  LiveMemory live;
  walk_live_changes(trace.events, live, [&](size_t, const trace::Event& event, const LiveChange& change) {
    result.end_ns = std::max(result.end_ns, event.time_ns);
    Counters::Touched touched = counters.touched(change);
    if (touched.count == 0) return true;
    std::array<std::pair<uint64_t, uint64_t>, 2> before;
    for (size_t i = 0; i < touched.count; ++i)
      before[i] = {touched.devices[i]->reserved, touched.devices[i]->blocks};
    counters.apply(change);
    for (size_t i = 0; i < touched.count; ++i) {
      DeviceCounters& d = *touched.devices[i];
      d.reserved_changes += d.reserved != before[i].first;
      d.block_changes += d.blocks != before[i].second;
    }
    return true;
  });
  result.devices = std::move(counters.devices());
  return result;
}

// The thread track of an event: the thread's OS id where the trace has it.
class ThreadIds {
 public:
  explicit ThreadIds(const trace::TraceContents& trace) {
    for (const trace::Thread& t : trace.threads) {
      if (t.os_tid != 0) os_tid_[t.index.value] = t.os_tid;
    }
  }
  uint64_t tid(trace::ThreadIndex index) const {
    auto found = os_tid_.find(index.value);
    return found == os_tid_.end() ? index.value : found->second;
  }

 private:
  std::unordered_map<uint32_t, uint64_t> os_tid_;
};

// The second walk: counters, ranges and marks as they come.
class EventPass {
 public:
  EventPass(const trace::TraceContents& trace, Survey& survey, const ChromeOptions& options, EventWriter& out,
            ChromeSummary& summary)
      : trace_(trace),
        counters_(options.device),
        window_{0, std::max<uint64_t>(survey.end_ns, 1), 0},
        threads_(trace),
        pid_(trace.header.pid != 0 ? trace.header.pid : 1),
        out_(out),
        summary_(summary) {
    window_.count = static_cast<size_t>(std::min<uint64_t>(options.points, window_.span()));
    for (auto& [ordinal, surveyed] : survey.devices) {
      DeviceCounters& d = counters_.device(ordinal);
      d.has_blocks = surveyed.has_blocks;
      uint64_t most = std::max(surveyed.reserved_changes, surveyed.allocated_changes());
      d.thinned = most > options.points;
      if (d.thinned) summary_.thinned_devices.push_back(ordinal);
    }
  }

  void observe(const trace::Event& event, const LiveChange& change) {
    switch (event.type) {
      case trace::EventType::Alloc:
      case trace::EventType::Free:
        count(event.time_ns, change);
        break;
      case trace::EventType::FailedAlloc:
        failures_.push_back(event);
        break;
      case trace::EventType::RangePush:
        push(event);
        break;
      case trace::EventType::RangePop:
        pop(event);
        break;
      case trace::EventType::Marker:
        out_.next() << "{\"name\":" << name(event.name)
                    << ",\"cat\":\"nvtx\",\"ph\":\"i\",\"s\":\"t\",\"ts\":" << micros(event.time_ns)
                    << ",\"pid\":" << pid_ << ",\"tid\":" << threads_.tid(event.thread) << "}";
        ++summary_.instants;
        break;
      default:
        break;
    }
  }

  // Closes the buckets under way and the ranges still open at `end_ns`.
  void finish(uint64_t end_ns) {
    for (auto& [ordinal, d] : counters_.devices()) {
      if (!d.thinned || !d.bucket) continue;
      close_bucket(d);
      // The value after the last change, from the next bucket on.
      if (*d.bucket + 1 >= window_.count) continue;
      uint64_t next_start = window_.bucket_start(*d.bucket + 1);
      d.for_each_line([&](CounterLine& line, uint64_t now) {
        if (line.written != now) point(line, next_start, now);
      });
    }
    for (auto& [thread, open] : open_) {
      for (; !open.empty(); open.pop_back()) end_range(end_ns, thread, open.back());
    }
  }

  const std::vector<trace::Event>& failures() const { return failures_; }
  uint32_t pid() const { return pid_; }
  uint64_t tid(trace::ThreadIndex index) const { return threads_.tid(index); }

 private:
  void count(uint64_t time_ns, const LiveChange& change) {
    Counters::Touched touched = counters_.touched(change);
    for (DeviceCounters* d : touched) {
      if (d->thinned) enter_bucket(*d, window_.bucket_of(time_ns));
    }
    counters_.apply(change);
    for (DeviceCounters* device : touched) {
      DeviceCounters& d = *device;
      d.for_each_line([&](CounterLine& line, uint64_t now) {
        if (d.thinned) {
          line.highest = std::max(line.highest, now);
        } else if (line.written != now) {
          point(line, time_ns, now);
        }
      });
    }
  }

  // Thinned: the device moves to bucket `b`. The buckets passed are drawn
  // at their highest value; those without a change hold the value at their start.
  void enter_bucket(DeviceCounters& d, size_t b) {
    if (d.bucket == b) return;
    if (d.bucket) {
      close_bucket(d);
      if (*d.bucket + 1 < b) {
        uint64_t gap_start = window_.bucket_start(*d.bucket + 1);
        d.for_each_line([&](CounterLine& line, uint64_t now) {
          if (line.written != now) point(line, gap_start, now);
        });
      }
    }
    d.bucket = b;
    d.for_each_line([&](CounterLine& line, uint64_t now) { line.highest = now; });
  }
  void close_bucket(DeviceCounters& d) {
    uint64_t start = window_.bucket_start(*d.bucket);
    d.for_each_line([&](CounterLine& line, uint64_t) {
      if (line.written != line.highest) point(line, start, line.highest);
    });
  }

  // A range's or mark's name as a JSON string: a few names, used over and over.
  const std::string& name(trace::StringId id) {
    auto [slot, added] = names_.try_emplace(id.value);
    if (added) slot->second = json_string(trace_.string(id));
    return slot->second;
  }

  void point(CounterLine& line, uint64_t time_ns, uint64_t bytes) {
    out_.next() << "{\"name\":" << line.name << ",\"ph\":\"C\",\"ts\":" << micros(time_ns)
                << ",\"pid\":" << pid_ << ",\"tid\":" << pid_ << ",\"args\":{\"bytes\":" << bytes << "}}";
    line.written = bytes;
    ++summary_.counter_events;
  }

  void push(const trace::Event& event) {
    open_[event.thread.value].push_back(event.name);
    out_.next() << "{\"name\":" << name(event.name)
                << ",\"cat\":\"nvtx\",\"ph\":\"B\",\"ts\":" << micros(event.time_ns) << ",\"pid\":" << pid_
                << ",\"tid\":" << threads_.tid(event.thread) << "}";
    ++summary_.slices;
  }
  void pop(const trace::Event& event) {
    std::vector<trace::StringId>& open = open_[event.thread.value];
    if (open.empty()) return;  // a pop without its push: the trace began inside the range
    end_range(event.time_ns, event.thread.value, open.back());
    open.pop_back();
  }
  void end_range(uint64_t time_ns, uint32_t thread, trace::StringId range) {
    out_.next() << "{\"name\":" << name(range) << ",\"cat\":\"nvtx\",\"ph\":\"E\",\"ts\":" << micros(time_ns)
                << ",\"pid\":" << pid_ << ",\"tid\":" << threads_.tid(trace::ThreadIndex{thread}) << "}";
  }

  const trace::TraceContents& trace_;
  Counters counters_;
  TimelineWindow window_;
  ThreadIds threads_;
  uint32_t pid_;
  EventWriter& out_;
  ChromeSummary& summary_;
  std::map<uint32_t, std::vector<trace::StringId>> open_;  // ranges open, by thread index
  std::vector<trace::Event> failures_;
  std::unordered_map<uint32_t, std::string> names_;
};

void write_failures(const std::vector<trace::Event>& failures, const ChromeOptions& options,
                    const EventPass& pass, EventWriter& out, ChromeSummary& summary) {
  if (failures.empty()) return;
  std::vector<std::string> verdicts;
  if (options.verdicts) verdicts = options.verdicts();
  for (size_t i = 0; i < failures.size(); ++i) {
    const trace::Event& e = failures[i];
    if (options.device && e.device != *options.device) continue;
    std::string verdict = i < verdicts.size() ? verdicts[i] : "";
    bool out_of_memory = verdict != to_string(OomVerdict::NotOutOfMemory);
    std::string name = (out_of_memory ? "OOM: " : "failed allocation: ") + format_size(e.size);
    if (!verdict.empty()) name += " (" + verdict + ")";
    nlohmann::json args = {{"requested", e.size},
                           {"free", e.free_bytes},
                           {"total", e.total_bytes},
                           {"device", e.device},
                           {"error", e.error}};
    if (!verdict.empty()) args["verdict"] = verdict;
    out.next() << "{\"name\":" << json_string(name)
               << ",\"cat\":\"memory\",\"ph\":\"i\",\"s\":\"p\",\"ts\":" << micros(e.time_ns)
               << ",\"pid\":" << pass.pid() << ",\"tid\":" << pass.tid(e.thread)
               << ",\"args\":" << args.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "}";
    ++summary.instants;
  }
}

void write_leaks(const trace::TraceContents& trace, const LiveMemory& live, uint64_t end_ns,
                 const ChromeOptions& options, uint32_t pid, EventWriter& out, ChromeSummary& summary) {
  Symbolizer symbolizer(trace.modules);
  StackResolver stacks(trace, symbolizer);
  for (const LiveGroup& group : group_live_allocations(live)) {
    if (!group.counted || (options.device && group.device != *options.device)) continue;
    std::string site = text::site_text(stacks.resolve(group.stack).site);
    std::string name = "leak: " + format_size(group.bytes) + " in " + std::to_string(group.count) +
                       (group.count == 1 ? " allocation at " : " allocations at ") + site;
    nlohmann::json args = {{"bytes", group.bytes},
                           {"count", group.count},
                           {"site", site},
                           {"kind", trace::to_string(group.kind)},
                           {"device", group.device}};
    out.next() << "{\"name\":" << json_string(name)
               << ",\"cat\":\"memory\",\"ph\":\"i\",\"s\":\"p\",\"ts\":" << micros(end_ns)
               << ",\"pid\":" << pid << ",\"tid\":" << pid
               << ",\"args\":" << args.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "}";
    ++summary.instants;
  }
}

// The process and its threads by name, as metadata events.
void write_names(const trace::TraceContents& trace, const EventPass& pass, EventWriter& out) {
  std::string process;
  for (const std::string& arg : trace.header.command_line) process += (process.empty() ? "" : " ") + arg;
  if (process.empty()) process = std::string(text::basename(trace.source));
  process =
      text::fit(process, 80) + (trace.header.rank >= 0 ? " (rank " + std::to_string(trace.header.rank) + ")"
                                                       : " (pid " + std::to_string(pass.pid()) + ")");
  auto metadata = [&](const char* what, uint64_t tid, const std::string& name) {
    out.next() << "{\"name\":\"" << what << "\",\"ph\":\"M\",\"pid\":" << pass.pid() << ",\"tid\":" << tid
               << ",\"args\":{\"name\":" << json_string(name) << "}}";
  };
  metadata("process_name", pass.pid(), process);
  for (const trace::Thread& t : trace.threads) {
    metadata("thread_name", pass.tid(t.index),
             t.name.empty() ? "thread " + std::to_string(t.index.value) : t.name);
  }
}

// A device asked for that the trace neither lists nor uses is a mistake.
void check_device(const trace::TraceContents& trace, const Survey& surveyed, uint32_t device) {
  if (surveyed.devices.contains(device)) return;
  std::string listed;
  for (const trace::DeviceInfo& d : trace.devices) {
    if (d.ordinal == device) return;
    listed += (listed.empty() ? "" : ", ") + std::to_string(d.ordinal);
  }
  throw std::invalid_argument("no device " + std::to_string(device) + ": " +
                              (listed.empty()              ? "the trace lists no devices"
                               : trace.devices.size() == 1 ? "the trace has device " + listed
                                                           : "the trace has devices " + listed));
}

}  // namespace

ChromeSummary write_chrome_trace(const trace::TraceContents& trace, const ChromeOptions& options,
                                 std::ostream& out) {
  if (options.points == 0) throw std::invalid_argument("a counter track needs at least 1 point");
  Survey surveyed = survey(trace, options.device);
  if (options.device) check_device(trace, surveyed, *options.device);
  ChromeSummary summary;
  EventWriter events(out);
  EventPass pass(trace, surveyed, options, events, summary);
  LiveMemory live;
  walk_with_live_set(trace.events, live, [&](size_t, const trace::Event& event, const LiveChange& change) {
    pass.observe(event, change);
    return true;
  });
  pass.finish(surveyed.end_ns);
  write_failures(pass.failures(), options, pass, events, summary);
  write_leaks(trace, live, surveyed.end_ns, options, pass.pid(), events, summary);
  write_names(trace, pass, events);
  events.finish(trace.source);
  return summary;
}

}  // namespace vramscope::analysis
