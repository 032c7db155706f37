// A trace as a PyTorch memory snapshot: the walk writes the allocator's
// history as trace entries (segment_alloc, alloc, free_requested and
// free_completed, segment_free, oom) and ends with the segments and blocks
// live at the end, so memory_viz's timeline and segment views both draw it.
// Without tensor blocks in the trace, each segment is its own one block.
#include "analyzer/export_snapshot.h"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "analyzer/stack_resolver.h"
#include "analyzer/symbolizer.h"
#include "formats/address_ranges.h"
#include "formats/pickle_writer.h"

namespace vramscope::analysis {

namespace {

enum class Action : uint8_t { SegmentAlloc, SegmentFree, Alloc, FreeRequested, FreeCompleted, Oom };

const char* action_name(Action a) {
  switch (a) {
    case Action::SegmentAlloc:
      return "segment_alloc";
    case Action::SegmentFree:
      return "segment_free";
    case Action::Alloc:
      return "alloc";
    case Action::FreeRequested:
      return "free_requested";
    case Action::FreeCompleted:
      return "free_completed";
    case Action::Oom:
      return "oom";
  }
  return "alloc";
}

struct Entry {
  Action action;
  uint64_t address = 0;
  uint64_t size = 0;
  uint64_t stream = 0;
  uint64_t time_us = 0;
  uint64_t device_free = 0;
  trace::StackId stack;
};

struct Live {
  uint64_t size = 0;
  uint64_t stream = 0;
  trace::StackId stack;
};

struct Annotation {
  std::string name;
  bool start = true;
  uint32_t device = 0;
  uint64_t time_us = 0;
};

// What the memory a kind names is, for the snapshot.
bool is_segment(trace::MemoryKind kind) {
  return kind == trace::MemoryKind::Device || kind == trace::MemoryKind::AsyncPool ||
         kind == trace::MemoryKind::VirtualMap;
}

class SnapshotWriter {
 public:
  explicit SnapshotWriter(const trace::TraceContents& trace)
      : trace_(trace), symbolizer_(trace.modules), stacks_(trace, symbolizer_) {}

  std::string write() {
    trace_.events.for_each(
        [&](size_t, const trace::Event& e) { has_blocks_ |= e.kind == trace::MemoryKind::Block; });
    std::map<uint32_t, std::vector<std::string>> open_ranges;  // by thread: RangePop may name nothing
    trace_.events.for_each([&](size_t, const trace::Event& e) { take(e, open_ranges); });

    pickle::Writer w;
    w.begin_dict();
    w.key("segments");
    w.begin_list();
    for (const auto& [device, segments] : segments_) {
      for (const auto& [address, segment] : segments) write_segment(w, device, address, segment);
    }
    w.end_list();
    w.key("device_traces");
    w.begin_list();
    // One list per device ordinal, from 0 to the highest with any.
    uint64_t devices = entries_.empty() ? 0 : uint64_t{entries_.rbegin()->first} + 1;
    if (!segments_.empty()) devices = std::max(devices, uint64_t{segments_.rbegin()->first} + 1);
    if (devices > kMaxSnapshotDevices) {
      throw std::invalid_argument(
          "a PyTorch snapshot lists every device up to the highest, and this trace has device " +
          std::to_string(devices - 1) + ", past " + std::to_string(kMaxSnapshotDevices - 1) +
          ": its device numbers look damaged");
    }
    for (uint32_t d = 0; d < devices; ++d) {
      w.begin_list();
      if (auto found = entries_.find(d); found != entries_.end()) {
        for (const Entry& e : found->second) write_entry(w, e);
      }
      w.end_list();
    }
    w.end_list();
    w.key("allocator_settings");
    w.begin_dict();
    w.end_dict();
    w.key("external_annotations");
    w.begin_list();
    for (const Annotation& a : annotations_) {
      w.begin_dict();
      w.key("name");
      w.string(a.name);
      w.key("stage");
      w.string(a.start ? "START" : "END");
      w.key("device");
      w.unsigned_integer(a.device);
      w.key("time_us");
      w.unsigned_integer(a.time_us);
      w.end_dict();
    }
    w.end_list();
    w.end_dict();
    return w.finish();
  }

 private:
  uint64_t time_us(uint64_t time_ns) const { return (trace_.header.start_unix_ns + time_ns) / 1000; }

  void take(const trace::Event& e, std::map<uint32_t, std::vector<std::string>>& open_ranges) {
    const uint64_t us = time_us(e.time_ns);
    auto add = [&](Action action, uint64_t size, trace::StackId stack) {
      entries_[e.device].push_back(Entry{action, e.address, size, e.stream, us, 0, stack});
    };
    switch (e.type) {
      case trace::EventType::Alloc:
        if (is_segment(e.kind)) {
          add(Action::SegmentAlloc, e.size, e.stack);
          if (!has_blocks_) add(Action::Alloc, e.size, e.stack);
          segments_[e.device][e.address] = Live{e.size, e.stream, e.stack};
        } else if (e.kind == trace::MemoryKind::Block) {
          add(Action::Alloc, e.size, e.stack);
          blocks_[e.device][e.address] = Live{e.size, e.stream, e.stack};
        }
        return;
      case trace::EventType::Free: {
        // A free's own size may be missing (traces made in memory do not pair them): the live one's.
        std::map<uint64_t, Live>* live = is_segment(e.kind)                   ? &segments_[e.device]
                                         : e.kind == trace::MemoryKind::Block ? &blocks_[e.device]
                                                                              : nullptr;
        auto it = live ? live->find(e.address) : std::map<uint64_t, Live>::iterator{};
        if (!live || it == live->end()) return;
        const uint64_t size = it->second.size;
        live->erase(it);
        if (e.kind == trace::MemoryKind::Block || !has_blocks_) {
          add(Action::FreeRequested, size, e.stack);
          add(Action::FreeCompleted, size, e.stack);
        }
        if (is_segment(e.kind)) add(Action::SegmentFree, size, e.stack);
        return;
      }
      case trace::EventType::FailedAlloc:
        entries_[e.device].push_back(Entry{Action::Oom, 0, e.size, e.stream, us, e.free_bytes, e.stack});
        return;
      case trace::EventType::RangePush: {
        std::string name = trace_.string(e.name);
        open_ranges[e.thread.value].push_back(name);
        annotations_.push_back(Annotation{name, true, e.device, us});
        return;
      }
      case trace::EventType::RangePop: {
        std::vector<std::string>& open = open_ranges[e.thread.value];
        std::string name = e.name.valid() ? trace_.string(e.name) : open.empty() ? "" : open.back();
        if (!open.empty()) open.pop_back();
        annotations_.push_back(Annotation{name, false, e.device, us});
        return;
      }
      default:
        return;
    }
  }

  void write_frames(pickle::Writer& w, trace::StackId stack) {
    w.key("frames");
    w.begin_list();
    if (stack.valid()) {
      for (const StackFrame& f : stacks_.resolve(stack).frames) {
        w.begin_dict();
        w.key("name");
        w.string(f.function);
        w.key("filename");
        w.string(f.file.empty() ? f.module : f.file);
        w.key("line");
        w.unsigned_integer(f.line);
        w.end_dict();
      }
    }
    w.end_list();
  }

  void write_entry(pickle::Writer& w, const Entry& e) {
    w.begin_dict();
    w.key("action");
    w.string(action_name(e.action));
    w.key("addr");
    w.unsigned_integer(e.address);
    w.key("size");
    w.unsigned_integer(e.size);
    w.key("stream");
    w.unsigned_integer(e.stream);
    w.key("time_us");
    w.unsigned_integer(e.time_us);
    if (e.action == Action::Oom) {
      w.key("device_free");
      w.unsigned_integer(e.device_free);
    }
    write_frames(w, e.stack);
    w.end_dict();
  }

  void write_block(pickle::Writer& w, uint64_t address, uint64_t size, const Live* live) {
    w.begin_dict();
    w.key("address");
    w.unsigned_integer(address);
    w.key("size");
    w.unsigned_integer(size);
    w.key("requested_size");
    w.unsigned_integer(live ? size : 0);
    w.key("state");
    w.string(live ? "active_allocated" : "inactive");
    write_frames(w, live ? live->stack : trace::StackId{});
    w.end_dict();
  }

  // A segment and its blocks, its holes as inactive blocks: blocks tile it.
  // Places in it are offsets from its start: a segment may end at 2^64.
  void write_segment(pickle::Writer& w, uint32_t device, uint64_t address, const Live& segment) {
    std::vector<std::pair<uint64_t, const Live*>> inside;  // blocks in address order
    if (has_blocks_) {
      const std::map<uint64_t, Live>& blocks = blocks_[device];
      for (auto it = blocks.lower_bound(address);
           it != blocks.end() && range_has(address, segment.size, it->first); ++it) {
        if (range_holds(address, segment.size, it->first, it->second.size))
          inside.emplace_back(it->first, &it->second);
      }
    } else {
      inside.emplace_back(address, &segment);
    }
    uint64_t allocated = 0;
    for (const auto& [a, live] : inside) allocated += live->size;
    w.begin_dict();
    w.key("device");
    w.unsigned_integer(device);
    w.key("address");
    w.unsigned_integer(address);
    w.key("total_size");
    w.unsigned_integer(segment.size);
    for (const char* key : {"allocated_size", "active_size", "requested_size"}) {
      w.key(key);
      w.unsigned_integer(allocated);
    }
    w.key("stream");
    w.unsigned_integer(segment.stream);
    w.key("segment_type");
    w.string(segment.size <= kSmallSegment ? "small" : "large");
    w.key("segment_pool_id");
    w.begin_tuple();
    w.unsigned_integer(0);
    w.unsigned_integer(0);
    w.end_tuple();
    w.key("is_expandable");
    w.boolean(false);
    write_frames(w, segment.stack);
    w.key("blocks");
    w.begin_list();
    uint64_t done = 0;  // the segment's bytes written, from its start
    for (const auto& [a, live] : inside) {
      const uint64_t offset = a - address;
      if (offset < done) continue;  // overlapping blocks: the first one keeps the bytes
      if (offset > done) write_block(w, address + done, offset - done, nullptr);
      write_block(w, a, live->size, live);
      done = offset + live->size;
    }
    if (done < segment.size) write_block(w, address + done, segment.size - done, nullptr);
    w.end_list();
    w.end_dict();
  }

  // PyTorch's small pool takes segments of 2 MiB.
  static constexpr uint64_t kSmallSegment = 2 << 20;

  const trace::TraceContents& trace_;
  Symbolizer symbolizer_;
  StackResolver stacks_;
  bool has_blocks_ = false;
  std::map<uint32_t, std::vector<Entry>> entries_;
  std::map<uint32_t, std::map<uint64_t, Live>> segments_;
  std::map<uint32_t, std::map<uint64_t, Live>> blocks_;
  std::vector<Annotation> annotations_;
};

}  // namespace

void write_pytorch_snapshot(const trace::TraceContents& trace, std::ostream& out) {
  std::string pickled = SnapshotWriter(trace).write();
  out.write(pickled.data(), static_cast<std::streamsize>(pickled.size()));
}

}  // namespace vramscope::analysis
