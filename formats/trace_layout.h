// Byte layout of a trace file, shared by the writer and the reader.
// docs/trace-format.md describes the same layout in prose.
#pragma once

#include <cstdint>
#include <cstring>

namespace vramscope::trace::layout {

inline constexpr char kFileMagic[8] = {'V', 'R', 'S', 'C', 'O', 'P', 'E', '\n'};
inline constexpr uint32_t kChunkMagic = 0x4b435356;  // "VSCK" little-endian
inline constexpr uint32_t kDefaultChunkBytes = 64 * 1024;
inline constexpr uint32_t kFileAlignment = 4096;     // header padded to this; chunks page-aligned
inline constexpr uint32_t kMaxStringBytes = 8 * 1024;  // longer strings are cut

// Fixed part of the file header; the variable part (varints) follows it.
struct FilePrefix {
  char magic[8];
  uint16_t version;
  uint16_t flags;
  uint32_t header_payload_bytes;  // variable part, right after this prefix
  uint32_t header_total_bytes;    // prefix + payload, padded to kFileAlignment
  uint32_t chunk_bytes;           // every chunk's size, header included
  uint32_t payload_crc;           // crc32 of the variable part
  uint32_t reserved;
};
static_assert(sizeof(FilePrefix) == 32);

// Head of every chunk. A chunk belongs to one writer thread. `sealed_length`
// is written last, when the chunk is full or its thread ends: 0 means the
// chunk was still being written (read its records up to the first zero token).
struct ChunkHead {
  uint32_t magic;
  uint32_t thread;
  uint32_t sealed_length;
  uint32_t crc;           // crc32 of payload[0, sealed_length)
  uint64_t base_time_ns;  // the clock when the chunk was claimed
  uint64_t base_ticks;    // the tick counter at the same moment; time deltas start here
};
static_assert(sizeof(ChunkHead) == 32);

// Record tokens: low 5 bits the type, high 3 bits flags. Token 0 never starts
// a record: it marks the end of a chunk's records, and the writer stores each
// token after its body so a record cut by a crash reads as the end.
enum RecordType : uint8_t {
  kAlloc = 1,
  kFree = 2,
  kFailedAlloc = 3,
  kMemInfo = 4,
  kMarker = 5,
  kRangePush = 6,
  kRangePop = 7,
  kFork = 8,
  kPoolTrim = 9,
  kString = 16,
  kFrame = 17,
  kStackNode = 18,
  kModule = 19,
  kThread = 20,
  kDevice = 21,
  kEnd = 22,
};
inline constexpr uint8_t kTypeMask = 0x1f;
// Alloc and Free flags.
inline constexpr uint8_t kSameAttrs = 0x20;  // kind, api, via, device, stream as the last record of this type
inline constexpr uint8_t kSameSize = 0x40;     // Alloc: size as the last Alloc in this chunk
inline constexpr uint8_t kFreeHasSize = 0x40;  // Free: a size field follows (cuMemUnmap, cuMemAddressFree)
inline constexpr uint8_t kSameStack = 0x80;  // stack as the last record of this type
// StackNode flag: the node is a non-native frame id, not an ip.
inline constexpr uint8_t kNodeIsFrame = 0x20;

inline uint64_t zigzag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
inline int64_t unzigzag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

// LEB128. Writes at most 10 bytes.
inline uint8_t* put_varint(uint8_t* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<uint8_t>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<uint8_t>(v);
  return p;
}

}  // namespace vramscope::trace::layout
