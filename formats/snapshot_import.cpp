// A PyTorch memory snapshot as events. A snapshot holds the allocator's state
// at one moment (segments and their blocks) and a window of its history
// before that moment (the trace entries). What was live before the window is
// worked out from both, as PyTorch's memory_viz does: the blocks and segments
// the window frees without having made them, and those live at the snapshot
// that the window never made, were there at its start.
#include "formats/snapshot_import.h"

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

#include "formats/address_ranges.h"
#include "formats/flat_table.h"
#include "formats/huge_page_allocator.h"

namespace vramscope::trace {

namespace {

using pickle::Type;
using pickle::Value;

// CUDA_ERROR_OUT_OF_MEMORY: what the caching allocator's failed cudaMalloc got.
constexpr int32_t kOutOfMemory = 2;
// Entries without times (the 2023 schema) are put a microsecond apart.
constexpr uint64_t kUntimedStepNs = 1000;

std::string_view text_of(const std::optional<Value>& v) {
  if (!v) return {};
  const Type type = v->type();
  return type == Type::String || type == Type::Bytes ? v->as_string() : std::string_view{};
}

uint64_t uint_or(const std::optional<Value>& v, uint64_t fallback = 0) {
  return v && !v->is_none() ? v->as_uint() : fallback;
}

uint64_t uint_of(const Value& dict, std::string_view key, uint64_t fallback = 0) {
  return uint_or(dict.find(key), fallback);
}

// Live address ranges: the segments at one moment, to find the one a block is in.
class SegmentMap {
 public:
  void add(uint64_t address, uint64_t size) { ranges_[address] = size; }
  void remove(uint64_t address) { ranges_.erase(address); }
  // The base of the segment holding `address`, or 0.
  uint64_t holding(uint64_t address) const {
    auto at = range_at(ranges_, address);
    return at != ranges_.end() ? at->first : 0;
  }

 private:
  std::map<uint64_t, uint64_t> ranges_;
};

// Interning tables: what an id was given for.
struct ByKey {
  uint64_t key = 0;
  uint32_t id = 0;
};
struct ByKeyTraits {
  static uint64_t key(const ByKey& e) { return e.key; }
  static size_t hash(uint64_t key) { return mix_hash(key); }
};
using IdTable = FlatTable<ByKey, ByKeyTraits>;

// A frame by its content: function and file string ids, and line.
struct FrameContent {
  uint64_t names = 0;  // function << 32 | file
  uint32_t line = 0;
  bool operator==(const FrameContent&) const = default;
};
struct ByFrame {
  FrameContent key;
  uint32_t id = 0;
};
struct ByFrameTraits {
  static FrameContent key(const ByFrame& e) { return e.key; }
  static size_t hash(const FrameContent& key) { return mix_hash(key.names ^ (uint64_t{key.line} << 17)); }
};

// The values of some keys of a dict, found through its shape: the dicts of
// one kind in a snapshot (its trace entries, its frames) share theirs, so
// where each key sits is looked up once per shape, not once per dict.
template <size_t N>
class Fields {
 public:
  explicit Fields(std::array<std::string_view, N> names) : names_(names) {}

  std::array<std::optional<Value>, N> of(const Value& dict) {
    std::array<std::optional<Value>, N> values;
    const uint32_t shape = dict.shape();
    if (shape == Value::kNoShape) {
      for (size_t i = 0; i < N; ++i) values[i] = dict.find(names_[i]);
      return values;
    }
    if (shape != shape_) learn(dict, shape);
    for (size_t i = 0; i < N; ++i) {
      if (at_[i] != kAbsent) values[i] = dict.value_at(at_[i]);
    }
    return values;
  }
  // The value of key i alone.
  std::optional<Value> one(const Value& dict, size_t i) {
    const uint32_t shape = dict.shape();
    if (shape == Value::kNoShape) return dict.find(names_[i]);
    if (shape != shape_) learn(dict, shape);
    return at_[i] == kAbsent ? std::nullopt : std::optional<Value>(dict.value_at(at_[i]));
  }

 private:
  static constexpr size_t kAbsent = SIZE_MAX;
  void learn(const Value& dict, uint32_t shape) {
    shape_ = shape;
    for (size_t i = 0; i < N; ++i) {
      at_[i] = kAbsent;
      // The last of a key given twice, as find() and Python take it.
      for (size_t k = dict.size(); k-- > 0;) {
        const Value key = dict.key_at(k);
        if ((key.type() == Type::String || key.type() == Type::Bytes) && key.as_string() == names_[i]) {
          at_[i] = k;
          break;
        }
      }
    }
  }
  std::array<std::string_view, N> names_;
  uint32_t shape_ = Value::kNoShape;
  std::array<size_t, N> at_{};
};

// The keys of a trace entry the importer reads, in Fields' order.
enum EntryKey { kAction, kAddr, kSize, kStream, kTime, kFrames, kDeviceFree, kEntryKeys };
constexpr std::array<std::string_view, kEntryKeys> kEntryKeyNames = {
    "action", "addr", "size", "stream", "time_us", "frames", "device_free"};

// A block or segment live before the window.
struct Earlier {
  uint64_t address = 0;
  uint64_t size = 0;
  uint64_t stream = 0;
  StackId stack;
};

class SnapshotReader {
 public:
  explicit SnapshotReader(const std::string& source) {
    t_.source = source;
    t_.strings.emplace_back();
    t_.stack_nodes.emplace_back();
    t_.frames.emplace_back();
    t_.threads.push_back(Thread{ThreadIndex{1}, 0, "PyTorch caching allocator"});
  }

  TraceContents read(const Value& root) {
    if (root.type() != Type::Dict || !root.find("segments")) {
      throw TraceError(t_.source + ": a pickle, but not a PyTorch memory snapshot (no 'segments')");
    }
    const Value segments = *root.find("segments");
    std::optional<Value> traces = root.find("device_traces");
    std::optional<uint64_t> earliest = traces ? earliest_entry_time(*traces) : std::nullopt;
    timed_ = earliest.has_value();
    origin_us_ = timed_ ? earliest_time(*earliest, root.find("external_annotations")) : 0;

    std::vector<uint32_t> devices;
    size_t expected_events = 0;  // about: entries, and two events a segment
    for (size_t i = 0; i < segments.size(); ++i) {
      devices.push_back(device_of(segments.at(i)));
      std::optional<Value> blocks = segments.at(i).find("blocks");
      expected_events += 2 + (blocks ? blocks->size() : 0);
    }
    for (size_t d = 0; traces && d < traces->size(); ++d) {
      const size_t entries = traces->at(d).size();
      if (entries != 0) devices.push_back(static_cast<uint32_t>(d));
      expected_events += entries;
    }
    events_.reserve(expected_events);
    advise_huge_pages(events_.data(), events_.capacity() * sizeof(Event));  // hundreds of megabytes
    std::sort(devices.begin(), devices.end());
    devices.erase(std::unique(devices.begin(), devices.end()), devices.end());
    for (uint32_t device : devices) {
      t_.devices.push_back(DeviceInfo{device, "CUDA device " + std::to_string(device), 0, false});
      std::optional<Value> entries;
      if (traces && device < traces->size()) entries = traces->at(device);
      read_device(device, segments, entries);
    }
    if (std::optional<Value> annotations = root.find("external_annotations")) read_annotations(*annotations);

    // One device's events come in time order already: sorting is for several.
    auto earlier_time = [](const Event& a, const Event& b) { return a.time_ns < b.time_ns; };
    if (!std::is_sorted(events_.begin(), events_.end(), earlier_time)) {
      std::stable_sort(events_.begin(), events_.end(), earlier_time);
    }
    t_.events = EventLog(std::move(events_));
    t_.header.devices = t_.devices;
    t_.header.start_unix_ns = origin_us_ * 1000;
    t_.cut_short = true;
    t_.cut_short_reason = "a PyTorch memory snapshot, taken while the job ran";
    t_.record_count = events_.size();
    return std::move(t_);
  }

 private:
  static uint32_t device_of(const Value& segment) {
    return static_cast<uint32_t>(uint_of(segment, "device"));
  }

  // The earliest time of the trace entries, in one pass; nullopt when one
  // has none (the 2023 schema): then no entry's time is used.
  std::optional<uint64_t> earliest_entry_time(const Value& traces) {
    uint64_t earliest = UINT64_MAX;
    for (size_t d = 0; d < traces.size(); ++d) {
      const Value entries = traces.at(d);
      for (size_t i = 0; i < entries.size(); ++i) {
        std::optional<Value> t = entry_fields_.one(entries.at(i), kTime);
        if (!t || t->is_none()) return std::nullopt;
        earliest = std::min(earliest, t->as_uint());
      }
    }
    return earliest;
  }

  // That and the annotations' earliest, as the trace's origin.
  uint64_t earliest_time(uint64_t earliest, const std::optional<Value>& annotations) {
    if (annotations) {
      for (size_t i = 0; i < annotations->size(); ++i) {
        earliest = std::min(earliest, uint_of(annotations->at(i), "time_us", UINT64_MAX));
      }
    }
    return earliest == UINT64_MAX ? 0 : earliest;
  }

  uint64_t time_of(const std::optional<Value>& time_us, size_t index) const {
    if (!timed_) return (index + 1) * kUntimedStepNs;
    uint64_t us = uint_or(time_us);
    return us > origin_us_ ? (us - origin_us_) * 1000 : 0;
  }

  // The device's blocks and segments, live before its window, and its window.
  void read_device(uint32_t device, const Value& segments, const std::optional<Value>& entries) {
    // The window, first to see what it made and freed.
    std::unordered_map<uint64_t, uint64_t>
        made_blocks;  // address → size, made in the window, live at its end
    std::unordered_map<uint64_t, uint64_t> made_segments;
    std::vector<Earlier> earlier_blocks, earlier_segments;
    if (entries) {
      for (size_t i = 0; i < entries->size(); ++i) {
        const auto e = entry_fields_.of(entries->at(i));
        std::string_view action = text_of(e[kAction]);
        uint64_t address = uint_or(e[kAddr]);
        if (action == "alloc") {
          made_blocks[address] = uint_or(e[kSize]);
        } else if (action == "free_completed" || action == "free") {
          if (made_blocks.erase(address) == 0) earlier_blocks.push_back(earlier(e));
        } else if (action == "segment_alloc" || action == "segment_map") {
          made_segments[address] = uint_or(e[kSize]);
        } else if (action == "segment_free" || action == "segment_unmap") {
          if (made_segments.erase(address) == 0) earlier_segments.push_back(earlier(e));
        }
      }
    }
    // The snapshot's own state: what the window did not make was there before it.
    uint64_t allocated_at_snapshot = 0;
    uint64_t live_earlier = 0;  // bytes of the blocks there before the window and still at its end
    for (size_t i = 0; i < segments.size(); ++i) {
      const Value segment = segments.at(i);
      if (device_of(segment) != device) continue;
      const uint64_t base = uint_of(segment, "address");
      const uint64_t stream = uint_of(segment, "stream");
      if (!made_segments.count(base)) {
        earlier_segments.push_back(
            Earlier{base, uint_of(segment, "total_size"), stream, stack_of(segment.find("frames"))});
      }
      std::optional<Value> blocks = segment.find("blocks");
      uint64_t offset = 0;  // the 2023 schema gives no block addresses: blocks are listed in address order
      for (size_t b = 0; blocks && b < blocks->size(); ++b) {
        const Value block = blocks->at(b);
        const auto fields = block_fields_.of(block);
        const uint64_t size = uint_or(fields[0]);
        const uint64_t address = uint_or(fields[1], base + offset);
        offset += size;
        std::string_view state = text_of(fields[2]);
        if (state != "active_allocated" && state != "active_pending_free") continue;
        allocated_at_snapshot += size;
        if (made_blocks.count(address)) continue;
        earlier_blocks.push_back(Earlier{address, size, stream, block_stack(block)});
        live_earlier += size;
      }
    }
    // Entries ask for sizes; blocks are rounded up. The blocks the window made
    // that are still live are bigger at the snapshot than their entries say:
    // one block at the start stands for the difference, so that the allocated
    // bytes end where the snapshot says.
    uint64_t live_at_end = live_earlier;
    for (const auto& [address, size] : made_blocks) live_at_end += size;
    const uint64_t rounding = allocated_at_snapshot > live_at_end ? allocated_at_snapshot - live_at_end : 0;

    SegmentMap live;
    for (const Earlier& s : earlier_segments) {
      add_segment(device, 0, s.address, s.size, s.stream, s.stack);
      live.add(s.address, s.size);
    }
    for (const Earlier& b : earlier_blocks)
      add_block(device, 0, b.address, b.size, live.holding(b.address), b.stack);
    if (rounding > 0) add_block(device, 0, kRoundingBlockAddress, rounding, 0, rounding_stack());
    if (!entries) return;
    for (size_t i = 0; i < entries->size(); ++i) read_entry(device, entries->at(i), i, live);
  }

  void read_entry(uint32_t device, const Value& entry, size_t index, SegmentMap& live) {
    const auto e = entry_fields_.of(entry);
    std::string_view action = text_of(e[kAction]);
    const uint64_t time = time_of(e[kTime], index);
    const uint64_t address = uint_or(e[kAddr]);
    const uint64_t size = uint_or(e[kSize]);
    if (action == "alloc") {
      add_block(device, time, address, size, live.holding(address), stack_of(e[kFrames]));
    } else if (action == "free_completed" || action == "free") {
      Event& free = add(EventType::Free, time, device);
      free.kind = MemoryKind::Block;
      free.api = Api::nvtxMemRegionsUnregister;
      free.address = address;
      free.stream = live.holding(address);
      free.stack = stack_of(e[kFrames]);
    } else if (action == "segment_alloc" || action == "segment_map") {
      add_segment(device, time, address, size, uint_or(e[kStream]), stack_of(e[kFrames]));
      live.add(address, size);
    } else if (action == "segment_free" || action == "segment_unmap") {
      StackId stack = stack_of(e[kFrames]);
      Event& heap = add(EventType::Free, time, device);
      heap.kind = MemoryKind::Heap;
      heap.api = Api::nvtxMemHeapUnregister;
      heap.address = heap.stream = address;
      heap.stack = stack;
      Event& segment = add(EventType::Free, time, device);
      segment.kind = MemoryKind::Device;
      segment.api = Api::cuMemFree;
      segment.via = Api::cudaFree;
      segment.address = address;
      segment.stack = stack;
      live.remove(address);
    } else if (action == "oom") {
      Event& failed = add(EventType::FailedAlloc, time, device);
      failed.kind = MemoryKind::Device;
      failed.api = Api::cachingAllocator;
      failed.size = size;
      failed.error = kOutOfMemory;
      failed.free_bytes = uint_or(e[kDeviceFree]);
      failed.stream = uint_or(e[kStream]);
      failed.stack = stack_of(e[kFrames]);
    }
    // free_requested: the block is not free until its streams are done
    // with it (free_completed). snapshot: the moment of the snapshot itself.
  }

  void read_annotations(const Value& annotations) {
    // Ranges when every device's STARTs and ENDs nest; marks otherwise.
    std::map<uint32_t, std::vector<std::string_view>> open;
    bool nested = true;
    for (size_t i = 0; i < annotations.size() && nested; ++i) {
      const Value a = annotations.at(i);
      std::string_view stage = text_of(a.find("stage"));
      std::vector<std::string_view>& stack = open[static_cast<uint32_t>(uint_of(a, "device"))];
      if (stage == "START") {
        stack.push_back(text_of(a.find("name")));
      } else if (stage == "END") {
        nested = !stack.empty() && stack.back() == text_of(a.find("name"));
        if (nested) stack.pop_back();
      }
    }
    for (size_t i = 0; i < annotations.size(); ++i) {
      const Value a = annotations.at(i);
      std::string_view stage = text_of(a.find("stage"));
      std::string_view name = text_of(a.find("name"));
      uint64_t us = uint_of(a, "time_us");
      uint64_t time = timed_ && us > origin_us_ ? (us - origin_us_) * 1000 : 0;
      EventType type = !nested            ? EventType::Marker
                       : stage == "START" ? EventType::RangePush
                                          : EventType::RangePop;
      if (nested && stage != "START" && stage != "END") type = EventType::Marker;
      Event& e = add(type, time, static_cast<uint32_t>(uint_of(a, "device")));
      e.name =
          nested ? string_id(name) : string_id(std::string(name) + (stage == "END" ? " (end)" : " (start)"));
    }
  }

  Earlier earlier(const std::array<std::optional<Value>, kEntryKeys>& entry) {
    return Earlier{uint_or(entry[kAddr]), uint_or(entry[kSize]), uint_or(entry[kStream]),
                   stack_of(entry[kFrames])};
  }

  // A block's stack: its own frames, or (2023) those of the last allocation in its history.
  StackId block_stack(const Value& block) {
    if (std::optional<Value> frames = block.find("frames")) return stack_of(frames);
    std::optional<Value> history = block.find("history");
    if (!history || history->size() == 0) return {};
    return stack_of(history->at(history->size() - 1).find("frames"));
  }

  void add_segment(uint32_t device, uint64_t time, uint64_t address, uint64_t size, uint64_t stream,
                   StackId stack) {
    Event& segment = add(EventType::Alloc, time, device);
    segment.kind = MemoryKind::Device;
    segment.api = Api::cuMemAlloc;
    segment.via = Api::cudaMalloc;
    segment.address = address;
    segment.size = size;
    segment.stream = stream;
    segment.stack = stack;
    // The allocator's heap over it: its blocks are inside.
    Event& heap = add(EventType::Alloc, time, device);
    heap.kind = MemoryKind::Heap;
    heap.api = Api::nvtxMemHeapRegister;
    heap.address = heap.stream = address;
    heap.size = size;
    heap.stack = stack;
  }

  void add_block(uint32_t device, uint64_t time, uint64_t address, uint64_t size, uint64_t heap,
                 StackId stack) {
    Event& block = add(EventType::Alloc, time, device);
    block.kind = MemoryKind::Block;
    block.api = Api::nvtxMemRegionsRegister;
    block.address = address;
    block.size = size;
    block.stream = heap;
    block.stack = stack;
  }

  Event& add(EventType type, uint64_t time, uint32_t device) {
    Event e;
    e.type = type;
    e.time_ns = time;
    e.device = device;
    e.thread = ThreadIndex{1};
    events_.push_back(e);
    return events_.back();
  }

  StringId string_id(std::string_view text) {
    auto [it, inserted] = string_ids_.try_emplace(text, 0);
    if (inserted) {
      t_.strings.emplace_back(text);
      it->second = static_cast<uint32_t>(t_.strings.size() - 1);
    }
    return StringId{it->second};
  }
  StringId string_id(std::string text) {
    owned_.push_back(std::make_unique<std::string>(std::move(text)));
    return string_id(std::string_view(*owned_.back()));
  }

  FrameId frame_id(std::string_view function, std::string_view file, uint32_t line) {
    uint32_t f = string_id(function).value, s = string_id(file).value;
    auto [entry, inserted] = frame_ids_.insert(ByFrame{FrameContent{uint64_t{f} << 32 | s, line}, 0});
    if (inserted) {
      entry->id = static_cast<uint32_t>(t_.frames.size());
      t_.frames.push_back(Frame{FrameId{entry->id}, StringId{f}, StringId{s}, line});
    }
    return FrameId{entry->id};
  }

  // A frame dict of the snapshot. Whether the entries share their frame
  // dicts or each has its own, the dicts share their strings through the
  // memo: a frame is met again by the ids of its function and file strings
  // and its line. The table is a cache, emptied when full: a snapshot may
  // hold a hundred million frame dicts, and a pickle need not share strings.
  FrameId frame_of(const Value& f) {
    const auto fields = frame_fields_.of(f);
    uint64_t line = uint_or(fields[2]);
    const uint32_t line32 = static_cast<uint32_t>(std::min<uint64_t>(line, UINT32_MAX));
    const FrameContent by_fields{
        uint64_t{fields[0] ? fields[0]->id() : 0} << 32 | (fields[1] ? fields[1]->id() : 0), line32};
    if (frame_by_fields_.size() >= kCachedFrames) frame_by_fields_ = FlatTable<ByFrame, ByFrameTraits>{};
    auto [known, added] = frame_by_fields_.insert(ByFrame{by_fields, 0});
    if (added) known->id = frame_id(text_of(fields[0]), text_of(fields[1]), line32).value;
    return FrameId{known->id};
  }

  StackId child(StackId parent, FrameId frame) {
    auto [entry, inserted] = children_.insert(ByKey{uint64_t{parent.value} << 32 | frame.value, 0});
    if (inserted) {
      entry->id = static_cast<uint32_t>(t_.stack_nodes.size());
      t_.stack_nodes.push_back(StackNode{StackId{entry->id}, parent, 0, frame});
    }
    return StackId{entry->id};
  }

  // Frames are listed innermost first; the prefix tree grows from the
  // outermost. Entries of one call path list equal frames, so a stack is
  // looked up once by the ids of its frames, not grown frame by frame.
  StackId stack_of(const std::optional<Value>& frames) {
    if (!frames || frames->type() != Type::List) return {};
    // A list whose items the reader shares with an earlier one: its stack.
    const uint64_t items = frames->items_id();
    if (ByKey* known = stacks_by_items_.find(items)) return StackId{known->id};
    StackId stack = stack_of_frames(*frames);
    if (stacks_by_items_.size() < kCachedLists) stacks_by_items_.insert(ByKey{items, stack.value});
    return stack;
  }

  // The same for a list the reader did not share: the stack of its frames.
  StackId stack_of_frames(const Value& list) {
    const size_t n = list.size();
    ids_.clear();
    uint64_t h = n;
    for (size_t i = 0; i < n; ++i) {
      ids_.push_back(frame_of(list.at(i)).value);
      h = mix_hash(h ^ ids_.back());
    }
    if (ByKey* seen = stacks_by_ids_.find(h)) {
      const CachedStack& c = cached_stacks_[seen->id];
      if (c.length == n && std::equal(ids_.begin(), ids_.end(), cached_ids_.begin() + c.offset))
        return c.stack;
    }
    StackId stack;
    for (size_t i = n; i-- > 0;) stack = child(stack, FrameId{ids_[i]});
    if (cached_ids_.size() < kCachedIds && !stacks_by_ids_.find(h)) {
      stacks_by_ids_.insert(ByKey{h, static_cast<uint32_t>(cached_stacks_.size())});
      cached_stacks_.push_back(CachedStack{cached_ids_.size(), n, stack});
      cached_ids_.insert(cached_ids_.end(), ids_.begin(), ids_.end());
    }
    return stack;
  }

  StackId rounding_stack() {
    return child(StackId{},
                 frame_id("bytes the allocator rounded up on blocks live at the snapshot", kSnapshotFile, 0));
  }

  TraceContents t_;
  std::vector<Event> events_;
  Fields<kEntryKeys> entry_fields_{kEntryKeyNames};
  Fields<3> block_fields_{{"size", "address", "state"}};
  Fields<3> frame_fields_{{"name", "filename", "line"}};
  bool timed_ = false;
  uint64_t origin_us_ = 0;
  std::unordered_map<std::string_view, uint32_t> string_ids_;
  std::vector<std::unique_ptr<std::string>> owned_;  // texts made here, which string_ids_ points into
  FlatTable<ByFrame, ByFrameTraits> frame_ids_;
  static constexpr size_t kCachedFrames = size_t{1} << 20;
  FlatTable<ByFrame, ByFrameTraits> frame_by_fields_;  // by its function's and file's ids, and line
  IdTable children_;        // by parent << 32 | frame
  // Stacks by their frames' ids, innermost first: a hash of the ids finds
  // the candidate, whose ids are compared.
  struct CachedStack {
    size_t offset = 0;  // of its ids in cached_ids_
    size_t length = 0;
    StackId stack;
  };
  static constexpr size_t kCachedIds = size_t{1} << 24;  // 64 MiB of ids at most
  IdTable stacks_by_ids_;
  IdTable stacks_by_items_;  // by Value::items_id
  static constexpr size_t kCachedLists = size_t{1} << 20;
  std::vector<CachedStack> cached_stacks_;
  std::vector<uint32_t> cached_ids_;
  std::vector<uint32_t> ids_;  // the stack being looked up
};

}  // namespace

TraceContents import_pytorch_snapshot(const pickle::Document& snapshot, const std::string& source) {
  try {
    return SnapshotReader(source).read(snapshot.root());
  } catch (const pickle::PickleError& e) {
    // Its message names the file: a field of the wrong type, say.
    throw TraceError(std::string(e.what()) + " (not a PyTorch memory snapshot as expected)");
  }
}

TraceContents import_pytorch_snapshot(const std::string& path) {
  try {
    pickle::Document snapshot = pickle::Document::read_file(path);
    return import_pytorch_snapshot(snapshot, path);
  } catch (const pickle::PickleError& e) {
    throw TraceError(e.what());  // it names the file
  }
}

}  // namespace vramscope::trace
