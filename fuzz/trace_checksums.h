// The fuzz targets that read vramscope traces (trace_fuzzer.cpp,
// report_fuzzer.cpp): their inputs with the checksums fixed.
#pragma once

#include <libdeflate.h>

#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "formats/trace_layout.h"

namespace vramscope::fuzz {

// A mutation almost always breaks a checksum, and the reader stops there.
// This copy has the header's and every sealed chunk's checksum recomputed,
// so that the records themselves get fuzzed.
inline std::vector<uint8_t> with_checksums_fixed(std::span<const uint8_t> bytes) {
  std::vector<uint8_t> out(bytes.begin(), bytes.end());
  trace::layout::FilePrefix prefix;
  if (out.size() < sizeof prefix ||
      std::memcmp(out.data(), trace::layout::kFileMagic, sizeof trace::layout::kFileMagic) != 0)
    return out;
  std::memcpy(&prefix, out.data(), sizeof prefix);
  if (out.size() - sizeof prefix < prefix.header_payload_bytes) return out;
  prefix.payload_crc = libdeflate_crc32(0, out.data() + sizeof prefix, prefix.header_payload_bytes);
  std::memcpy(out.data(), &prefix, sizeof prefix);
  if (prefix.chunk_bytes < 4096 || prefix.chunk_bytes > (64u << 20)) return out;
  for (uint64_t offset = prefix.header_total_bytes; offset + sizeof(trace::layout::ChunkHead) <= out.size();
       offset += prefix.chunk_bytes) {
    trace::layout::ChunkHead head;
    std::memcpy(&head, out.data() + offset, sizeof head);
    if (head.magic != trace::layout::kChunkMagic) continue;
    if (head.sealed_length > out.size() - offset - sizeof head) continue;
    head.crc = libdeflate_crc32(0, out.data() + offset + sizeof head, head.sealed_length);
    std::memcpy(out.data() + offset, &head, sizeof head);
  }
  return out;
}

}  // namespace vramscope::fuzz
