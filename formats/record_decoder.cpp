// Record decoding and free/allocation pairing.
#include "formats/record_decoder.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

namespace vramscope::trace {

namespace {

bool known_kind(uint8_t k) { return k < kMemoryKindCount; }

// Allocations are paired with frees per address space: device pointers from
// cuMemAlloc, cuMemAllocAsync and cuMemAllocManaged are all freed by address
// (cuMemFree frees any of them), VMM handles are not pointers at all.
// NVTX blocks and heaps are an allocator's view of memory inside segments:
// their addresses overlap the segments', so each has its own space too.
enum class AddressSpace : uint8_t {
  DevicePointer,
  PinnedHost,
  HostRegistered,
  Reserve,
  Physical,
  Map,
  Pool,
  Block,
  Heap
};

AddressSpace space_of(MemoryKind kind) {
  switch (kind) {
    case MemoryKind::Device:
    case MemoryKind::AsyncPool:
    case MemoryKind::Managed: return AddressSpace::DevicePointer;
    case MemoryKind::PinnedHost: return AddressSpace::PinnedHost;
    case MemoryKind::HostRegistered: return AddressSpace::HostRegistered;
    case MemoryKind::VirtualReserve: return AddressSpace::Reserve;
    case MemoryKind::VirtualPhysical: return AddressSpace::Physical;
    case MemoryKind::VirtualMap: return AddressSpace::Map;
    case MemoryKind::MemoryPool: return AddressSpace::Pool;
    case MemoryKind::Block: return AddressSpace::Block;
    case MemoryKind::Heap: return AddressSpace::Heap;
  }
  return AddressSpace::DevicePointer;
}

struct LiveKey {
  AddressSpace space;
  uint64_t address;
  bool operator<(const LiveKey& o) const {
    return space != o.space ? space < o.space : address < o.address;
  }
};

}  // namespace

ChunkResult RecordDecoder::fail(std::string message) {
  error_ = std::move(message);
  return ChunkResult::Corrupt;
}

uint64_t RecordDecoder::relative_time(uint64_t ticks) const {
  double since_base = static_cast<double>(ticks - base_ticks_) * ns_per_tick_;
  uint64_t absolute = base_ns_ + static_cast<uint64_t>(since_base + 0.5);
  return absolute > trace_.header.start_ns ? absolute - trace_.header.start_ns : 0;
}

void RecordDecoder::add_device(const DeviceInfo& device) {
  auto it = std::find_if(trace_.devices.begin(), trace_.devices.end(),
                         [&](const DeviceInfo& d) { return d.ordinal == device.ordinal; });
  if (it == trace_.devices.end()) {
    trace_.devices.push_back(device);
  } else {
    *it = device;
  }
}

ChunkResult RecordDecoder::decode_chunk(std::span<const uint8_t> payload, const layout::ChunkHead& head, bool exact) {
  ThreadIndex thread{head.thread};
  base_ns_ = head.base_time_ns;
  base_ticks_ = head.base_ticks;
  last_time_ = head.base_ticks;
  last_address_ = 0;
  last_alloc_size_ = 0;
  alloc_state_ = {};
  free_state_ = {};
  ByteCursor in(payload);
  while (!in.at_end()) {
    const uint8_t* record_start = in.position();
    uint8_t token = in.byte();
    if (token == 0) {
      if (exact) return fail("zero token inside a sealed chunk");
      return ChunkResult::Ok;
    }
    if (!decode_record(token, in, thread)) {
      if (!error_.empty()) return ChunkResult::Corrupt;
      if (in.malformed()) return fail("malformed record");
      if (exact) return fail("record overruns its chunk");
      return ChunkResult::RanOut;
    }
    trace_.record_bytes += static_cast<uint64_t>(in.position() - record_start);
    ++trace_.record_count;
  }
  return ChunkResult::Ok;
}

bool RecordDecoder::decode_address_record(uint8_t token, ByteCursor& in, ThreadIndex thread) {
  uint8_t type = token & layout::kTypeMask;
  AttrState& state = type == layout::kAlloc ? alloc_state_ : free_state_;
  Event e;
  e.type = type == layout::kAlloc ? EventType::Alloc : EventType::Free;
  e.thread = thread;
  last_time_ += in.varint();
  if (token & layout::kSameAttrs) {
    if (!state.valid) {
      error_ = "record refers to attributes never given";
      return false;
    }
  } else {
    uint8_t kind = in.byte();
    uint8_t api = in.byte();
    uint8_t via = in.byte();
    if (in.ok() && !known_kind(kind)) {
      error_ = "unknown memory kind " + std::to_string(kind);
      return false;
    }
    state.kind = static_cast<MemoryKind>(kind);
    state.api = static_cast<Api>(api);
    state.via = static_cast<Api>(via);
    state.device = static_cast<uint32_t>(in.varint());
    state.stream = in.varint();
    state.valid = true;
  }
  last_address_ += static_cast<uint64_t>(layout::unzigzag(in.varint()));
  if (e.type == EventType::Alloc) {
    if (!(token & layout::kSameSize)) last_alloc_size_ = in.varint();
    e.size = last_alloc_size_;
  } else if (token & layout::kFreeHasSize) {
    e.size = in.varint();
  }
  if (!(token & layout::kSameStack)) state.stack = static_cast<uint32_t>(in.varint());
  if (!in.ok()) return false;
  e.time_ns = relative_time(last_time_);
  e.kind = state.kind;
  e.api = state.api;
  e.via = state.via;
  e.device = state.device;
  e.stream = state.stream;
  e.address = last_address_;
  e.stack = StackId{state.stack};
  trace_.events.push_back(e);
  return true;
}

bool RecordDecoder::decode_record(uint8_t token, ByteCursor& in, ThreadIndex thread) {
  uint8_t type = token & layout::kTypeMask;
  Event e;
  e.thread = thread;
  switch (type) {
    case layout::kAlloc:
    case layout::kFree: return decode_address_record(token, in, thread);
    case layout::kFailedAlloc: {
      last_time_ += in.varint();
      uint8_t kind = in.byte();
      e.type = EventType::FailedAlloc;
      e.api = static_cast<Api>(in.byte());
      e.via = static_cast<Api>(in.byte());
      e.device = static_cast<uint32_t>(in.varint());
      e.size = in.varint();
      e.error = static_cast<int32_t>(layout::unzigzag(in.varint()));
      e.free_bytes = in.varint();
      e.total_bytes = in.varint();
      e.stack = StackId{static_cast<uint32_t>(in.varint())};
      if (in.ok() && !known_kind(kind)) {
        error_ = "unknown memory kind " + std::to_string(kind);
        return false;
      }
      e.kind = static_cast<MemoryKind>(kind);
      break;
    }
    case layout::kMemInfo:
      last_time_ += in.varint();
      e.type = EventType::MemInfo;
      e.device = static_cast<uint32_t>(in.varint());
      e.free_bytes = in.varint();
      e.total_bytes = in.varint();
      break;
    case layout::kMarker:
    case layout::kRangePush:
    case layout::kRangePop:
      last_time_ += in.varint();
      e.type = type == layout::kMarker      ? EventType::Marker
               : type == layout::kRangePush ? EventType::RangePush
                                            : EventType::RangePop;
      e.name = StringId{static_cast<uint32_t>(in.varint())};
      break;
    case layout::kFork:
      last_time_ += in.varint();
      e.type = EventType::Fork;
      e.child_pid = static_cast<uint32_t>(in.varint());
      break;
    case layout::kPoolTrim:
      last_time_ += in.varint();
      e.type = EventType::PoolTrim;
      e.kind = MemoryKind::MemoryPool;
      e.device = static_cast<uint32_t>(in.varint());
      e.address = in.varint();
      e.size = in.varint();
      break;
    case layout::kString: {
      uint32_t id = static_cast<uint32_t>(in.varint());
      std::string text = in.string();
      if (!in.ok()) return false;
      if (id == 0 || id > (1u << 28)) {
        error_ = "bad string id";
        return false;
      }
      if (trace_.strings.size() <= id) trace_.strings.resize(id + 1);
      trace_.strings[id] = std::move(text);
      return true;
    }
    case layout::kFrame: {
      Frame f;
      f.id = FrameId{static_cast<uint32_t>(in.varint())};
      f.function = StringId{static_cast<uint32_t>(in.varint())};
      f.file = StringId{static_cast<uint32_t>(in.varint())};
      f.line = static_cast<uint32_t>(in.varint());
      if (!in.ok()) return false;
      if (!f.id.valid() || f.id.value > (1u << 28)) {
        error_ = "bad frame id";
        return false;
      }
      if (trace_.frames.size() <= f.id.value) trace_.frames.resize(f.id.value + 1);
      trace_.frames[f.id.value] = f;
      return true;
    }
    case layout::kStackNode: {
      StackNode node;
      node.id = StackId{static_cast<uint32_t>(in.varint())};
      node.parent = StackId{static_cast<uint32_t>(in.varint())};
      uint64_t value = in.varint();
      if (token & layout::kNodeIsFrame) {
        node.frame = FrameId{static_cast<uint32_t>(value)};
      } else {
        node.ip = value;
      }
      if (!in.ok()) return false;
      if (!node.id.valid() || node.id.value > (1u << 28) || node.parent.value >= node.id.value) {
        error_ = "bad stack node";
        return false;
      }
      if (trace_.stack_nodes.size() <= node.id.value) trace_.stack_nodes.resize(node.id.value + 1);
      trace_.stack_nodes[node.id.value] = node;
      return true;
    }
    case layout::kModule: {
      Module m;
      m.path = in.string();
      m.base = in.varint();
      m.start = in.varint();
      m.end = in.varint();
      m.build_id = in.string();
      if (!in.ok()) return false;
      trace_.modules.push_back(std::move(m));
      return true;
    }
    case layout::kThread: {
      Thread t;
      t.index = ThreadIndex{static_cast<uint32_t>(in.varint())};
      t.os_tid = in.varint();
      t.name = in.string();
      if (!in.ok()) return false;
      trace_.threads.push_back(std::move(t));
      return true;
    }
    case layout::kDevice: {
      DeviceInfo d;
      d.ordinal = static_cast<uint32_t>(in.varint());
      d.name = in.string();
      d.total_bytes = in.varint();
      d.simulated = in.byte() != 0;
      if (!in.ok()) return false;
      add_device(d);
      return true;
    }
    case layout::kEnd: {
      last_time_ += in.varint();
      End end;
      end.reason = static_cast<EndReason>(in.byte());
      end.code = static_cast<int32_t>(layout::unzigzag(in.varint()));
      end.chunks = in.varint();
      if (!in.ok()) return false;
      if (static_cast<uint8_t>(end.reason) > static_cast<uint8_t>(EndReason::Exec)) {
        error_ = "unknown end reason";
        return false;
      }
      end.time_ns = relative_time(last_time_);
      // The first end wins: a signal handler's end comes before the exit path's.
      if (!trace_.end) trace_.end = end;
      return true;
    }
    default:
      error_ = "unknown record type " + std::to_string(type);
      return false;
  }
  if (!in.ok()) return false;
  e.time_ns = relative_time(last_time_);
  trace_.events.push_back(e);
  return true;
}

void RecordDecoder::finish() {
  auto& events = trace_.events;
  std::stable_sort(events.begin(), events.end(),
                   [](const Event& a, const Event& b) { return a.time_ns < b.time_ns; });
  std::sort(trace_.threads.begin(), trace_.threads.end(),
            [](const Thread& a, const Thread& b) { return a.index < b.index; });
  std::sort(trace_.devices.begin(), trace_.devices.end(),
            [](const DeviceInfo& a, const DeviceInfo& b) { return a.ordinal < b.ordinal; });

  pair_frees();
}

// Pairs frees with allocations. Some frees free several allocations: a ranged
// cuMemUnmap every mapping it covers, an NVTX heap reset or unregister every
// live block of the heap (a block's stream is its heap). Those become one
// free per allocation, placed right after the event that caused them; a heap
// reset itself frees nothing else and leaves no event of its own.
void RecordDecoder::pair_frees() {
  auto& events = trace_.events;
  std::map<LiveKey, size_t> live;
  std::set<std::pair<uint64_t, uint64_t>> heap_blocks;  // (heap, block address) of live blocks
  std::map<uint64_t, uint64_t> resizing;                // block address -> heap, from a resize's free to its alloc
  std::vector<std::pair<size_t, Event>> added;          // (after event index, free)
  std::vector<bool> dropped(events.size(), false);

  auto free_live = [&](size_t cause, const Event& e, std::map<LiveKey, size_t>::iterator it) {
    const Event& a = events[it->second];
    Event extra = e;
    extra.kind = a.kind;
    extra.address = a.address;
    extra.size = a.size;
    extra.device = a.device;
    if (a.kind == MemoryKind::Block) heap_blocks.erase({a.stream, a.address});
    added.emplace_back(cause, extra);
    return live.erase(it);
  };
  auto free_heap_blocks = [&](size_t cause, const Event& e, uint64_t heap) {
    for (auto b = heap_blocks.lower_bound({heap, 0}); b != heap_blocks.end() && b->first == heap;) {
      uint64_t address = b->second;
      ++b;  // free_live erases the entry
      auto it = live.find({AddressSpace::Block, address});
      if (it != live.end()) free_live(cause, e, it);
    }
  };

  for (size_t i = 0; i < events.size(); ++i) {
    Event& e = events[i];
    AddressSpace space = space_of(e.kind);
    if (e.type == EventType::Alloc) {
      auto [slot, inserted] = live.try_emplace({space, e.address}, i);
      if (!inserted && events[slot->second].kind == MemoryKind::Block) {
        heap_blocks.erase({events[slot->second].stream, e.address});
      }
      slot->second = i;
      if (e.kind == MemoryKind::Block) {
        auto resized = resizing.find(e.address);
        if (e.api == Api::nvtxMemRegionsResize && resized != resizing.end()) e.stream = resized->second;
        if (resized != resizing.end()) resizing.erase(resized);
        heap_blocks.insert({e.stream, e.address});
      }
      continue;
    }
    if (e.type != EventType::Free) continue;
    if (e.kind == MemoryKind::Heap && e.api == Api::nvtxMemHeapReset) {
      dropped[i] = true;
      free_heap_blocks(i, e, e.address);
      continue;
    }
    auto it = live.find({space, e.address});
    if (it == live.end()) {  // unknown address: left for the analyzer to count
      if (space == AddressSpace::Heap) free_heap_blocks(i, e, e.address);
      continue;
    }
    const Event& a = events[it->second];
    uint64_t range_end = e.address + e.size;
    e.kind = a.kind;
    e.device = a.device;
    e.size = a.size;
    if (a.kind == MemoryKind::Block) {
      heap_blocks.erase({a.stream, a.address});
      if (e.api == Api::nvtxMemRegionsResize) resizing[a.address] = a.stream;
    }
    live.erase(it);
    if (space == AddressSpace::Map && range_end > e.address + e.size) {
      for (auto next = live.lower_bound({space, e.address});
           next != live.end() && next->first.space == space && next->first.address < range_end;) {
        next = free_live(i, e, next);
      }
    }
    if (space == AddressSpace::Heap) free_heap_blocks(i, e, e.address);
  }
  if (added.empty() && std::find(dropped.begin(), dropped.end(), true) == dropped.end()) return;
  std::vector<Event> merged;
  merged.reserve(events.size() + added.size());
  size_t next_added = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    if (!dropped[i]) merged.push_back(events[i]);
    for (; next_added < added.size() && added[next_added].first == i; ++next_added) {
      merged.push_back(added[next_added].second);
    }
  }
  events = std::move(merged);
}

}  // namespace vramscope::trace
