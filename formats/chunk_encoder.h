// Encodes records into one chunk's payload. Used on the injector's hot path:
// it never allocates, never locks and never makes a system call.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "formats/trace_events.h"
#include "formats/trace_layout.h"

namespace vramscope::trace {

struct AllocFields {
  uint64_t ticks = 0;  // tick reading, the unit of Header::ticks_per_second
  MemoryKind kind = MemoryKind::Device;
  Api api = Api::None;
  Api via = Api::None;
  uint32_t device = 0;
  uint64_t stream = 0;
  uint64_t address = 0;
  uint64_t size = 0;  // Free: 0 when the API does not say
  StackId stack{};
};

struct FailureFields {
  uint64_t ticks = 0;
  MemoryKind kind = MemoryKind::Device;
  Api api = Api::None;
  Api via = Api::None;
  uint32_t device = 0;
  uint64_t size = 0;
  int32_t error = 0;
  uint64_t free_bytes = 0;
  uint64_t total_bytes = 0;
  StackId stack{};
};

class ChunkEncoder {
 public:
  // Records of at most this size always fit in an empty chunk.
  static constexpr uint32_t kMaxRecordBytes = 2 * layout::kMaxStringBytes + 256;

  void start(uint8_t* payload, uint32_t capacity, uint64_t base_ticks) {
    begin_ = payload;
    pos_ = payload;
    end_ = payload + capacity;
    last_time_ = base_ticks;
    last_address_ = 0;
    alloc_state_ = {};
    free_state_ = {};
    last_alloc_size_ = UINT64_MAX;
  }
  bool active() const { return begin_ != nullptr; }
  void stop() { begin_ = pos_ = end_ = nullptr; }
  uint32_t used() const { return static_cast<uint32_t>(pos_ - begin_); }
  const uint8_t* payload() const { return begin_; }

  // Each returns false, writing nothing, when the record does not fit: the
  // caller moves to a fresh chunk and writes it again.
  bool alloc(const AllocFields& f) { return address_record(layout::kAlloc, f, alloc_state_); }
  bool free(const AllocFields& f) { return address_record(layout::kFree, f, free_state_); }

  bool failed_alloc(const FailureFields& f) {
    if (!room(80)) return false;
    uint8_t* p = pos_ + 1;
    p = put_time(p, f.ticks);
    *p++ = static_cast<uint8_t>(f.kind);
    *p++ = static_cast<uint8_t>(f.api);
    *p++ = static_cast<uint8_t>(f.via);
    p = layout::put_varint(p, f.device);
    p = layout::put_varint(p, f.size);
    p = layout::put_varint(p, layout::zigzag(f.error));
    p = layout::put_varint(p, f.free_bytes);
    p = layout::put_varint(p, f.total_bytes);
    p = layout::put_varint(p, f.stack.value);
    return commit(p, layout::kFailedAlloc);
  }

  bool mem_info(uint64_t ticks, uint32_t device, uint64_t free_bytes, uint64_t total_bytes) {
    if (!room(40)) return false;
    uint8_t* p = put_time(pos_ + 1, ticks);
    p = layout::put_varint(p, device);
    p = layout::put_varint(p, free_bytes);
    p = layout::put_varint(p, total_bytes);
    return commit(p, layout::kMemInfo);
  }

  // Marker, RangePush, RangePop.
  bool marker(layout::RecordType type, uint64_t ticks, StringId name) {
    if (!room(20)) return false;
    uint8_t* p = put_time(pos_ + 1, ticks);
    p = layout::put_varint(p, name.value);
    return commit(p, type);
  }

  bool fork(uint64_t ticks, uint32_t child_pid) {
    if (!room(20)) return false;
    uint8_t* p = put_time(pos_ + 1, ticks);
    p = layout::put_varint(p, child_pid);
    return commit(p, layout::kFork);
  }

  bool pool_trim(uint64_t ticks, uint32_t device, uint64_t pool, uint64_t keep_bytes) {
    if (!room(40)) return false;
    uint8_t* p = put_time(pos_ + 1, ticks);
    p = layout::put_varint(p, device);
    p = layout::put_varint(p, pool);
    p = layout::put_varint(p, keep_bytes);
    return commit(p, layout::kPoolTrim);
  }

  bool string(StringId id, std::string_view text) {
    text = clip(text);
    if (!room(20 + text.size())) return false;
    uint8_t* p = layout::put_varint(pos_ + 1, id.value);
    p = put_bytes(p, text);
    return commit(p, layout::kString);
  }

  bool frame(FrameId id, StringId function, StringId file, uint32_t line) {
    if (!room(30)) return false;
    uint8_t* p = layout::put_varint(pos_ + 1, id.value);
    p = layout::put_varint(p, function.value);
    p = layout::put_varint(p, file.value);
    p = layout::put_varint(p, line);
    return commit(p, layout::kFrame);
  }

  bool stack_node(StackId id, StackId parent, uint64_t ip) {
    if (!room(30)) return false;
    uint8_t* p = layout::put_varint(pos_ + 1, id.value);
    p = layout::put_varint(p, parent.value);
    p = layout::put_varint(p, ip);
    return commit(p, layout::kStackNode);
  }

  bool stack_frame_node(StackId id, StackId parent, FrameId frame) {
    if (!room(20)) return false;
    uint8_t* p = layout::put_varint(pos_ + 1, id.value);
    p = layout::put_varint(p, parent.value);
    p = layout::put_varint(p, frame.value);
    return commit(p, layout::kStackNode | layout::kNodeIsFrame);
  }

  bool module(std::string_view path, uint64_t base, uint64_t start, uint64_t end, std::string_view build_id_hex) {
    path = clip(path);
    build_id_hex = clip(build_id_hex.substr(0, 128));
    if (!room(60 + path.size() + build_id_hex.size())) return false;
    uint8_t* p = put_bytes(pos_ + 1, path);
    p = layout::put_varint(p, base);
    p = layout::put_varint(p, start);
    p = layout::put_varint(p, end);
    p = put_bytes(p, build_id_hex);
    return commit(p, layout::kModule);
  }

  bool thread(ThreadIndex index, uint64_t os_tid, std::string_view name) {
    name = clip(name);
    if (!room(30 + name.size())) return false;
    uint8_t* p = layout::put_varint(pos_ + 1, index.value);
    p = layout::put_varint(p, os_tid);
    p = put_bytes(p, name);
    return commit(p, layout::kThread);
  }

  bool device(const DeviceInfo& d) {
    std::string_view name = clip(d.name);
    if (!room(40 + name.size())) return false;
    uint8_t* p = layout::put_varint(pos_ + 1, d.ordinal);
    p = put_bytes(p, name);
    p = layout::put_varint(p, d.total_bytes);
    *p++ = d.simulated ? 1 : 0;
    return commit(p, layout::kDevice);
  }

  // `chunks`: how many chunks the file had claimed, so a reader can tell a
  // file that lost whole chunks.
  bool end(uint64_t ticks, EndReason reason, int32_t code, uint64_t chunks) {
    if (!room(40)) return false;
    uint8_t* p = put_time(pos_ + 1, ticks);
    *p++ = static_cast<uint8_t>(reason);
    p = layout::put_varint(p, layout::zigzag(code));
    p = layout::put_varint(p, chunks);
    return commit(p, layout::kEnd);
  }

 private:
  // The attributes of the last record of a type, packed for one comparison.
  struct AttrState {
    uint64_t key = UINT64_MAX;  // kind, api, via, device
    uint64_t stream = 0;
    uint32_t stack = UINT32_MAX;
  };
  static uint64_t attr_key(const AllocFields& f) {
    return static_cast<uint64_t>(f.kind) | static_cast<uint64_t>(f.api) << 8 | static_cast<uint64_t>(f.via) << 16 |
           static_cast<uint64_t>(f.device) << 24;
  }

  static std::string_view clip(std::string_view s) { return s.substr(0, layout::kMaxStringBytes); }
  bool room(size_t n) const { return static_cast<size_t>(end_ - pos_) >= n + 1; }  // +1: a zero token after

  uint8_t* put_time(uint8_t* p, uint64_t ticks) {
    uint64_t delta = ticks >= last_time_ ? ticks - last_time_ : 0;
    last_time_ = ticks > last_time_ ? ticks : last_time_;
    return layout::put_varint(p, delta);
  }
  static uint8_t* put_bytes(uint8_t* p, std::string_view s) {
    p = layout::put_varint(p, s.size());
    std::memcpy(p, s.data(), s.size());
    return p + s.size();
  }

  // The body is in place; storing the token last makes the record visible.
  bool commit(uint8_t* record_end, uint8_t token) {
    std::atomic_signal_fence(std::memory_order_release);
    __atomic_store_n(pos_, token, __ATOMIC_RELEASE);
    pos_ = record_end;
    return true;
  }

  bool address_record(uint8_t type, const AllocFields& f, AttrState& state) {
    if (!room(64)) return false;
    uint8_t token = type;
    uint8_t* p = put_time(pos_ + 1, f.ticks);
    uint64_t key = attr_key(f);
    if (state.key == key && state.stream == f.stream) {
      token |= layout::kSameAttrs;
    } else {
      *p++ = static_cast<uint8_t>(f.kind);
      *p++ = static_cast<uint8_t>(f.api);
      *p++ = static_cast<uint8_t>(f.via);
      p = layout::put_varint(p, f.device);
      p = layout::put_varint(p, f.stream);
      state.key = key;
      state.stream = f.stream;
    }
    p = layout::put_varint(p, layout::zigzag(static_cast<int64_t>(f.address - last_address_)));
    last_address_ = f.address;
    if (type == layout::kAlloc) {
      if (f.size == last_alloc_size_) {
        token |= layout::kSameSize;
      } else {
        p = layout::put_varint(p, f.size);
        last_alloc_size_ = f.size;
      }
    } else if (f.size != 0) {
      token |= layout::kFreeHasSize;
      p = layout::put_varint(p, f.size);
    }
    if (state.stack == f.stack.value) {
      token |= layout::kSameStack;
    } else {
      p = layout::put_varint(p, f.stack.value);
      state.stack = f.stack.value;
    }
    return commit(p, token);
  }

  uint8_t* begin_ = nullptr;
  uint8_t* pos_ = nullptr;
  uint8_t* end_ = nullptr;
  uint64_t last_time_ = 0;
  uint64_t last_address_ = 0;
  uint64_t last_alloc_size_ = UINT64_MAX;
  AttrState alloc_state_;
  AttrState free_state_;
};

}  // namespace vramscope::trace
