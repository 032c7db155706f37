// Record decoding.
#include "formats/record_decoder.h"

#include <algorithm>
#include <utility>

namespace vramscope::trace {

namespace {

bool known_kind(uint8_t k) { return k < kMemoryKindCount; }

}  // namespace

ChunkResult RecordDecoder::fail(std::string message) {
  error_ = std::move(message);
  return ChunkResult::Corrupt;
}

uint64_t RecordDecoder::relative_time(uint64_t ticks) const {
  if (ns_per_tick_ == 1.0) {  // ticks are nanoseconds
    uint64_t absolute = base_ns_ + (ticks - base_ticks_);
    return absolute > start_ns_ ? absolute - start_ns_ : 0;
  }
  double since_base = static_cast<double>(ticks - base_ticks_) * ns_per_tick_;
  uint64_t absolute = base_ns_ + static_cast<uint64_t>(since_base + 0.5);
  return absolute > start_ns_ ? absolute - start_ns_ : 0;
}

void RecordDecoder::add_device(const DeviceInfo& device) {
  if (!meta_) return;
  auto it = std::find_if(meta_->devices.begin(), meta_->devices.end(),
                         [&](const DeviceInfo& d) { return d.ordinal == device.ordinal; });
  if (it == meta_->devices.end()) {
    meta_->devices.push_back(device);
  } else {
    *it = device;
  }
}

ChunkResult RecordDecoder::decode_chunk(std::span<const uint8_t> payload, const layout::ChunkHead& head,
                                        bool exact, std::vector<Event>* events) {
  ThreadIndex thread{head.thread};
  events_ = events;
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
    if (meta_) {
      meta_->record_bytes += static_cast<uint64_t>(in.position() - record_start);
      ++meta_->record_count;
    }
  }
  return ChunkResult::Ok;
}

bool RecordDecoder::decode_address_record(uint8_t token, ByteCursor& in, ThreadIndex thread) {
  uint8_t type = token & layout::kTypeMask;
  AttrState& state = type == layout::kAlloc ? alloc_state_ : free_state_;
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
  uint64_t size = 0;
  if (type == layout::kAlloc) {
    if (!(token & layout::kSameSize)) last_alloc_size_ = in.varint();
    size = last_alloc_size_;
  } else if (token & layout::kFreeHasSize) {
    size = in.varint();
  }
  if (!(token & layout::kSameStack)) state.stack = static_cast<uint32_t>(in.varint());
  if (!in.ok()) return false;
  if (!events_) return true;  // checking the records only
  Event& e = events_->emplace_back();
  e.type = type == layout::kAlloc ? EventType::Alloc : EventType::Free;
  e.thread = thread;
  e.size = size;
  e.time_ns = relative_time(last_time_);
  e.kind = state.kind;
  e.api = state.api;
  e.via = state.via;
  e.device = state.device;
  e.stream = state.stream;
  e.address = last_address_;
  e.stack = StackId{state.stack};
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
      if (!meta_) return true;
      if (meta_->strings.size() <= id) meta_->strings.resize(id + 1);
      meta_->strings[id] = std::move(text);
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
      if (!meta_) return true;
      if (meta_->frames.size() <= f.id.value) meta_->frames.resize(f.id.value + 1);
      meta_->frames[f.id.value] = f;
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
      if (!meta_) return true;
      if (meta_->stack_nodes.size() <= node.id.value) meta_->stack_nodes.resize(node.id.value + 1);
      meta_->stack_nodes[node.id.value] = node;
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
      if (meta_) meta_->modules.push_back(std::move(m));
      return true;
    }
    case layout::kThread: {
      Thread t;
      t.index = ThreadIndex{static_cast<uint32_t>(in.varint())};
      t.os_tid = in.varint();
      t.name = in.string();
      if (!in.ok()) return false;
      if (meta_) meta_->threads.push_back(std::move(t));
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
      if (meta_ && !meta_->end) meta_->end = end;
      return true;
    }
    default:
      error_ = "unknown record type " + std::to_string(type);
      return false;
  }
  if (!in.ok()) return false;
  e.time_ns = relative_time(last_time_);
  emit(e);
  return true;
}

void RecordDecoder::finish() {
  if (!meta_) return;
  std::sort(meta_->threads.begin(), meta_->threads.end(),
            [](const Thread& a, const Thread& b) { return a.index < b.index; });
  std::sort(meta_->devices.begin(), meta_->devices.end(),
            [](const DeviceInfo& a, const DeviceInfo& b) { return a.ordinal < b.ordinal; });
}

}  // namespace vramscope::trace
