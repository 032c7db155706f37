// Record decoding.
#include "formats/record_decoder.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <utility>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace vramscope::trace {

namespace {

bool known_kind(uint8_t k) { return k < kMemoryKindCount; }

// The longest Alloc or Free record: token, time delta, kind, api, via, then
// device, stream, address, size and stack, each varint at most 10 bytes.
constexpr ptrdiff_t kLongestAddressRecord = 1 + 10 + 3 + 5 * 10;

// Varints for the fast path, where the longest record's bytes from `p` are
// readable.
static_assert(std::endian::native == std::endian::little, "varints are read a word at a time");
constexpr uint64_t kHighBits = 0x8080808080808080ull;

// The byte after the varint at `p`, or null for one longer than 10 bytes.
inline const uint8_t* skip_varint(const uint8_t* p) {
  uint64_t word;
  std::memcpy(&word, p, sizeof word);
  if (uint64_t last = ~word & kHighBits) return p + std::countr_zero(last) / 8 + 1;
  if (p[8] < 0x80) return p + 9;
  if (p[9] < 0x80) return p + 10;
  return nullptr;
}

// Bit i set when byte i of the 16 from `p` has no continuation bit: ends a
// varint. Bits 16 to 31 are set too, as ends past the 16 bytes, so that
// each varint's end is found without a test for none left.
inline uint32_t varint_ends(const uint8_t* p) {
#if defined(__SSE2__)
  // One instruction gathers the sixteen top bits.
  const auto bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return ~static_cast<uint32_t>(_mm_movemask_epi8(bytes)) | 0xffff0000u;
#else
  // The multiply gathers the eight top bits of a word into its top byte.
  auto ends_8 = [](const uint8_t* q) {
    uint64_t word;
    std::memcpy(&word, q, sizeof word);
    return static_cast<uint32_t>(((~word & kHighBits) * 0x0002040810204081ull) >> 56);
  };
  return ends_8(p) | ends_8(p + 8) << 8 | 0xffff0000u;
#endif
}

// The index of the lowest set bit of `bits`, which has one (see varint_ends).
inline uint32_t lowest_bit(uint32_t bits) { return static_cast<uint32_t>(__builtin_ctz(bits)); }

// kVarintBits[n]: the value bits of the first n bytes of a word, without
// their continuation bits.
constexpr std::array<uint64_t, 9> kVarintBits = [] {
  std::array<uint64_t, 9> bits{};
  for (uint32_t n = 1; n <= 8; ++n) bits[n] = bits[n - 1] | 0x7full << (8 * (n - 1));
  return bits;
}();

// The value of the varint of `length` bytes (1 to 8) at `p`; 8 bytes are readable.
inline uint64_t varint_value(const uint8_t* p, uint32_t length) {
  uint64_t x;
  std::memcpy(&x, p, sizeof x);
  x &= kVarintBits[length];
  // Close the gaps left by the continuation bits, 7-bit groups into 14, 28
  // and 56: adding the low group of each pair to itself makes the pair's
  // value twice what it should be with no gap, and the shift halves it.
  x = (x + (x & 0x00ff00ff00ff00ffull)) >> 1;
  x = (x + 3 * (x & 0x0000ffff0000ffffull)) >> 2;
  return (x + 15 * (x & 0x00000000ffffffffull)) >> 4;
}

// The same for a varint of `length` bytes (1 to 4), in half the steps; 4
// bytes are readable. Most varints are this short.
inline uint64_t short_varint_value(const uint8_t* p, uint32_t length) {
  uint32_t x;
  std::memcpy(&x, p, sizeof x);
  x &= static_cast<uint32_t>(kVarintBits[length]);
  x = (x + (x & 0x00ff00ffu)) >> 1;
  return (x + 3 * (x & 0x0000ffffu)) >> 2;
}

// The same as skip_varint, with the value.
// Whether an Alloc or Free record with this token carries a size: an Alloc
// unless it repeats the last one's, a Free when it says so.
inline bool carries_size(uint8_t token) {
  return (token & layout::kTypeMask) == layout::kAlloc ? !(token & layout::kSameSize)
                                                       : (token & layout::kFreeHasSize) != 0;
}

inline const uint8_t* read_varint(const uint8_t* p, uint64_t& value) {
  const uint8_t* end = skip_varint(p);
  if (!end) return nullptr;
  uint32_t length = static_cast<uint32_t>(end - p);
  value = varint_value(p, std::min<uint32_t>(length, 8));
  for (uint32_t i = 8; i < length; ++i) value |= static_cast<uint64_t>(p[i] & 0x7f) << (7 * i);
  return end;
}

}  // namespace

ChunkResult RecordDecoder::fail(std::string message) {
  error_ = std::move(message);
  return ChunkResult::Corrupt;
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

void RecordDecoder::start_chunk(std::span<const uint8_t> payload, const layout::ChunkHead& head, bool exact) {
  begin_ = payload.data();
  next_ = begin_;
  end_ = begin_ + payload.size();
  exact_ = exact;
  done_ = false;
  ticks_wrapped_ = false;
  thread_ = ThreadIndex{head.thread};
  base_ns_ = head.base_time_ns;
  base_ticks_ = head.base_ticks;
  ticks_since_base_ = 0;
  last_address_ = 0;
  last_alloc_size_ = 0;
  alloc_state_ = {};
  alloc_state_.event.type = EventType::Alloc;
  alloc_state_.event.thread = thread_;
  free_state_ = {};
  free_state_.event.type = EventType::Free;
  free_state_.event.thread = thread_;
  last_event_time_ = 0;
  in_time_order_ = true;
}

ChunkResult RecordDecoder::decode_chunk(std::span<const uint8_t> payload, const layout::ChunkHead& head,
                                        bool exact, std::vector<Event>* events) {
  start_chunk(payload, head, exact);
  size_t written = 0;
  if (!events) return decode(nullptr, 0, written);
  while (true) {
    size_t old_size = events->size();
    events->resize(old_size + 1024);
    ChunkResult result = decode(events->data() + old_size, 1024, written);
    events->resize(old_size + written);
    if (result != ChunkResult::Ok || done_) return result;
  }
}

ChunkResult RecordDecoder::decode(Event* out, size_t room, size_t& written) {
  out_ = out;
  room_ = room;
  written_ = 0;
  address_kinds_ = 0;
  written = 0;
  if (done_) return ChunkResult::Ok;
  // Alloc and Free records, nearly all of them, take the fast path while
  // the longest one would fit; the others, the chunk's tail and any record
  // the fast path doubts go through ByteCursor, which says what is wrong.
  const uint8_t* const fast_end =
      end_ - begin_ >= kLongestAddressRecord ? end_ - kLongestAddressRecord + 1 : begin_;
  const uint8_t* const start = next_;
  const uint8_t* p = start;  // the next record
  uint64_t count = 0;
  ChunkResult result = ChunkResult::Ok;
  bool stopped = false;  // for want of room, before the end
  while (p < end_) {
    if (out && written_ == room) {  // a record may give an event: no room for it
      stopped = true;
      break;
    }
    if (p < fast_end) {
      p = out ? address_records<true>(p, fast_end, count) : address_records<false>(p, fast_end, count);
      if (p >= end_ || (out && written_ == room)) continue;
    }
    ByteCursor in({p, end_});
    uint8_t token = in.byte();
    if (token == 0) {
      if (exact_) result = fail("zero token inside a sealed chunk");
      break;
    }
    const uint64_t ticks_before = base_ticks_ + ticks_since_base_;
    if (!decode_record(token, in, thread_)) {
      if (!error_.empty()) {
        result = ChunkResult::Corrupt;
      } else if (in.malformed()) {
        result = fail("malformed record");
      } else if (exact_) {
        result = fail("record overruns its chunk");
      } else {
        result = ChunkResult::RanOut;
      }
      break;
    }
    if (kept_ && (token & layout::kTypeMask) >= layout::kString) {
      kept_->push_back(KeptRecord{chunk_index_, static_cast<uint32_t>(p - begin_), ticks_before});
    }
    p = in.position();
    ++count;
  }
  next_ = p;
  done_ = !stopped;
  written = written_;
  records_seen_ += count;
  record_bytes_seen_ += static_cast<uint64_t>(p - start);
  return result;
}

bool RecordDecoder::replay(std::span<const uint8_t> payload, const layout::ChunkHead& head,
                           const KeptRecord& record) {
  start_chunk(payload, head, true);
  ticks_since_base_ = record.ticks - base_ticks_;
  ByteCursor in(payload.subspan(record.offset));
  uint8_t token = in.byte();
  return token != 0 && decode_record(token, in, thread_);
}

bool RecordDecoder::chunk_in_time_order() const {
  // Times grow with the ticks as long as no sum below overflows.
  uint64_t since_base = ticks_since_base_;
  if (ticks_wrapped_) return false;
  if (ticks_are_ns_) return base_ns_ + since_base >= base_ns_;
  double ns = static_cast<double>(since_base) * ns_per_tick_ + 0.5;
  if (!(ns < 18446744073709551616.0)) return false;  // 2^64
  return base_ns_ + static_cast<uint64_t>(ns) >= base_ns_;
}

inline void RecordDecoder::emit_address_event(const AttrState& state, uint64_t size) {
  Event& event = out_[written_++];
  event = state.event;
  event.time_ns = relative_time();
  event.address = last_address_;
  event.size = size;
  note_event(event.time_ns);
  address_kinds_ |= 1u << static_cast<unsigned>(state.event.kind);
}

inline uint64_t RecordDecoder::apply_address_fields(AttrState& state, uint8_t type, bool has_size,
                                                    bool new_stack, const AddressFields& fields) {
  if (new_stack) state.event.stack = event_stack(fields.stack);
  last_address_ += static_cast<uint64_t>(layout::unzigzag(fields.address));
  if (type != layout::kAlloc) return fields.size;
  if (has_size) last_alloc_size_ = fields.size;
  return last_alloc_size_;
}

inline void RecordDecoder::apply_address_record(AttrState& state, uint8_t type, bool has_size, bool new_stack,
                                                const AddressFields& fields) {
  uint64_t size = apply_address_fields(state, type, has_size, new_stack, fields);
  add_ticks(fields.dt);
  emit_address_event(state, size);
}

template <bool kEmit>
const uint8_t* RecordDecoder::address_records(const uint8_t* p, const uint8_t* stop, uint64_t& count) {
  [[maybe_unused]] const size_t written_before = written_;
  while (p < stop) {
    if constexpr (kEmit) {
      if (written_ == room_) break;
    }
    const uint8_t token = *p;
    const uint8_t type = token & layout::kTypeMask;
    if (type != layout::kAlloc && type != layout::kFree) break;
    AttrState& state = type == layout::kAlloc ? alloc_state_ : free_state_;
    if ((token & layout::kSameAttrs) && state.valid) {
      // A record of varints only: time, address and maybe size and stack.
      // Find where each ends from one look at the record's bytes, not one
      // after the other; that chain of loads is what limits decoding.
      const bool has_size = carries_size(token);
      const bool new_stack = !(token & layout::kSameStack);
      uint32_t ends = varint_ends(p) & ~1u;  // byte 0 is the token
      const uint32_t time_end = lowest_bit(ends);
      ends &= ends - 1;
      const uint32_t address_end = lowest_bit(ends);
      ends &= ends - 1;
      uint32_t size_end = address_end;
      if (has_size) {
        size_end = lowest_bit(ends);
        ends &= ends - 1;
      }
      const uint32_t stack_end = new_stack ? lowest_bit(ends) : size_end;
      const uint32_t time_length = time_end;
      const uint32_t address_length = address_end - time_end;
      const uint32_t size_length = size_end - address_end;  // 0 when there is none
      const uint32_t stack_length = stack_end - size_end;
      const uint32_t longest = std::max({time_length, address_length, size_length, stack_length});
      // Varints of 9 and 10 bytes, and records past the 16 bytes, take the way below.
      if (stack_end < 16 && longest <= 8) {
        AddressFields fields;
        auto read_fields = [&](auto value) {
          fields.dt = value(p + 1, time_length);
          if constexpr (kEmit) {
            fields.address = value(p + time_end + 1, address_length);
            if (has_size) fields.size = value(p + address_end + 1, size_length);
            if (new_stack) fields.stack = value(p + size_end + 1, stack_length);
          }
        };
        if (longest <= 4) {
          read_fields(short_varint_value);
        } else {
          read_fields(varint_value);
        }
        if constexpr (kEmit) {
          apply_address_record(state, type, has_size, new_stack, fields);
        } else {
          add_ticks(fields.dt);
          ++count;
        }
        p += stack_end + 1;
        continue;
      }
    }
    const uint8_t* q = address_record_in_full<kEmit>(p);
    if (!q) break;
    p = q;
    if constexpr (!kEmit) ++count;
  }
  if constexpr (kEmit) count += written_ - written_before;  // each record gives one event
  return p;
}

template <bool kEmit>
const uint8_t* RecordDecoder::address_record_in_full(const uint8_t* p) {
  const uint8_t token = *p;
  const uint8_t type = token & layout::kTypeMask;
  AttrState& state = type == layout::kAlloc ? alloc_state_ : free_state_;
  const bool new_attrs = !(token & layout::kSameAttrs);
  const bool has_size = carries_size(token);
  const bool new_stack = !(token & layout::kSameStack);
  if (!new_attrs && !state.valid) return nullptr;
  AddressFields fields;
  const uint8_t* q = read_varint(p + 1, fields.dt);
  if (!q) return nullptr;
  if (new_attrs && !known_kind(q[0])) return nullptr;
  if constexpr (!kEmit) {  // checking the records only: their values do not matter
    if (new_attrs) {
      if (!(q = skip_varint(q + 3)) || !(q = skip_varint(q))) return nullptr;
    }
    if (!(q = skip_varint(q))) return nullptr;
    if (has_size && !(q = skip_varint(q))) return nullptr;
    if (new_stack && !(q = skip_varint(q))) return nullptr;
    state.valid = true;
    add_ticks(fields.dt);
  } else {
    uint64_t device = 0, stream = 0;
    const uint8_t* attrs = q;
    if (new_attrs) {
      if (!(q = read_varint(q + 3, device)) || !(q = read_varint(q, stream))) return nullptr;
    }
    if (!(q = read_varint(q, fields.address))) return nullptr;
    if (has_size && !(q = read_varint(q, fields.size))) return nullptr;
    if (new_stack && !(q = read_varint(q, fields.stack))) return nullptr;
    // The record is whole: only now does it change the chunk's state.
    if (new_attrs) state.set(attrs[0], attrs[1], attrs[2], device, stream);
    apply_address_record(state, type, has_size, new_stack, fields);
  }
  return q;
}

bool RecordDecoder::decode_address_record(uint8_t token, ByteCursor& in) {
  uint8_t type = token & layout::kTypeMask;
  AttrState& state = type == layout::kAlloc ? alloc_state_ : free_state_;
  add_ticks(in.varint());
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
    uint64_t device = in.varint();
    state.set(kind, api, via, device, in.varint());
  }
  AddressFields fields;
  fields.address = in.varint();
  const bool has_size = carries_size(token);
  if (has_size) fields.size = in.varint();
  const bool new_stack = !(token & layout::kSameStack);
  if (new_stack) fields.stack = in.varint();
  if (!in.ok()) return false;  // cut: the chunk ends before it, nothing after it is decoded
  uint64_t size = apply_address_fields(state, type, has_size, new_stack, fields);
  if (out_) emit_address_event(state, size);  // else checking the records only
  return true;
}

bool RecordDecoder::decode_record(uint8_t token, ByteCursor& in, ThreadIndex thread) {
  uint8_t type = token & layout::kTypeMask;
  if (type == layout::kAlloc || type == layout::kFree) return decode_address_record(token, in);
  Event e;
  e.thread = thread;
  switch (type) {
    case layout::kFailedAlloc: {
      add_ticks(in.varint());
      uint8_t kind = in.byte();
      e.type = EventType::FailedAlloc;
      e.api = static_cast<Api>(in.byte());
      e.via = static_cast<Api>(in.byte());
      e.device = static_cast<uint32_t>(in.varint());
      e.size = in.varint();
      e.error = static_cast<int32_t>(layout::unzigzag(in.varint()));
      e.free_bytes = in.varint();
      e.total_bytes = in.varint();
      e.stack = event_stack(in.varint());
      if (in.ok() && !known_kind(kind)) {
        error_ = "unknown memory kind " + std::to_string(kind);
        return false;
      }
      e.kind = static_cast<MemoryKind>(kind);
      break;
    }
    case layout::kMemInfo:
      add_ticks(in.varint());
      e.type = EventType::MemInfo;
      e.device = static_cast<uint32_t>(in.varint());
      e.free_bytes = in.varint();
      e.total_bytes = in.varint();
      break;
    case layout::kMarker:
    case layout::kRangePush:
    case layout::kRangePop:
      add_ticks(in.varint());
      e.type = type == layout::kMarker      ? EventType::Marker
               : type == layout::kRangePush ? EventType::RangePush
                                            : EventType::RangePop;
      e.name = StringId{static_cast<uint32_t>(in.varint())};
      break;
    case layout::kFork:
      add_ticks(in.varint());
      e.type = EventType::Fork;
      e.child_pid = static_cast<uint32_t>(in.varint());
      break;
    case layout::kPoolTrim:
      add_ticks(in.varint());
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
      if (id == 0 || id > max_id()) {
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
      if (!f.id.valid() || f.id.value > max_id()) {
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
      if (!node.id.valid() || node.id.value > max_id() || node.parent.value >= node.id.value) {
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
      add_ticks(in.varint());
      End end;
      end.reason = static_cast<EndReason>(in.byte());
      end.code = static_cast<int32_t>(layout::unzigzag(in.varint()));
      end.chunks = in.varint();
      if (!in.ok()) return false;
      if (static_cast<uint8_t>(end.reason) > static_cast<uint8_t>(EndReason::Exec)) {
        error_ = "unknown end reason";
        return false;
      }
      end.time_ns = relative_time();
      // The first end wins: a signal handler's end comes before the exit path's.
      if (meta_ && !meta_->end) meta_->end = end;
      return true;
    }
    default:
      error_ = "unknown record type " + std::to_string(type);
      return false;
  }
  if (!in.ok()) return false;
  e.time_ns = relative_time();
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
