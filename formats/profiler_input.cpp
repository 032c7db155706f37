// Reading and gunzipping torch.profiler files, and JSON scalar conversions.
#include "formats/profiler_input.h"

#include <libdeflate.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>

#include "formats/trace_reader.h"

namespace vramscope::trace::profiler_input {

namespace {

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

struct DecompressorFree {
  void operator()(libdeflate_decompressor* d) const { libdeflate_free_decompressor(d); }
};

// Deflate makes at most 1032 bytes of one (258 bytes from a 2-bit code).
constexpr uint64_t kMaxDeflateRatio = 1032;

std::string size_text(uint64_t bytes) {
  return bytes >= (uint64_t{1} << 30) ? std::to_string(bytes >> 30) + " GiB"
                                      : std::to_string(bytes >> 20) + " MiB";
}

}  // namespace

std::vector<uint8_t> read_file(const std::string& path) {
  File f(std::fopen(path.c_str(), "rb"));
  if (!f) throw TraceError("cannot open " + path + ": " + std::strerror(errno));
  std::vector<uint8_t> bytes;
  uint8_t buffer[1 << 16];
  for (;;) {
    size_t n = std::fread(buffer, 1, sizeof buffer, f.get());
    bytes.insert(bytes.end(), buffer, buffer + n);
    if (n < sizeof buffer) break;
  }
  if (std::ferror(f.get())) throw TraceError("cannot read " + path + ": " + std::strerror(errno));
  return bytes;
}

bool is_gzip(std::span<const uint8_t> bytes) {
  return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
}

std::string read_head(const std::string& path, size_t limit) {
  File f(std::fopen(path.c_str(), "rb"));
  if (!f) return {};
  std::vector<uint8_t> raw(limit);
  raw.resize(std::fread(raw.data(), 1, raw.size(), f.get()));
  if (!is_gzip(raw)) return std::string(raw.begin(), raw.end());
  // zlib inflates a prefix; libdeflate only whole streams.
  std::string text(limit, '\0');
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return {};
  z.next_in = raw.data();
  z.avail_in = static_cast<uInt>(raw.size());
  z.next_out = reinterpret_cast<Bytef*>(text.data());
  z.avail_out = static_cast<uInt>(text.size());
  int status = Z_OK;
  while (status == Z_OK && z.avail_out > 0) {
    if (z.avail_in == 0) {
      raw.resize(limit);
      raw.resize(std::fread(raw.data(), 1, raw.size(), f.get()));
      if (raw.empty()) break;
      z.next_in = raw.data();
      z.avail_in = static_cast<uInt>(raw.size());
    }
    status = inflate(&z, Z_NO_FLUSH);
  }
  text.resize(z.total_out);
  inflateEnd(&z);
  return text;
}

std::string unpack(std::span<const uint8_t> bytes, const std::string& source) {
  if (!is_gzip(bytes)) return std::string(bytes.begin(), bytes.end());
  std::unique_ptr<libdeflate_decompressor, DecompressorFree> d(libdeflate_alloc_decompressor());
  if (!d) throw TraceError(source + ": out of memory to unpack it");
  const uint64_t bound = std::min(kMaxTextBytes, bytes.size() * kMaxDeflateRatio);
  // The gzip trailer's size (ISIZE) is the size modulo 4 GiB, of the last
  // member only, and anyone can write it: a first guess, no more.
  uint64_t hint = bytes.size() >= 4
                      ? (uint64_t{bytes[bytes.size() - 4]} | uint64_t{bytes[bytes.size() - 3]} << 8 |
                         uint64_t{bytes[bytes.size() - 2]} << 16 | uint64_t{bytes[bytes.size() - 1]} << 24)
                      : 0;
  uint64_t capacity = std::clamp<uint64_t>(std::max<uint64_t>(hint, 4 * bytes.size()), 1, bound);
  std::string text;
  size_t in_at = 0;
  size_t out_at = 0;
  while (in_at < bytes.size()) {
    std::span<const uint8_t> rest = bytes.subspan(in_at);
    if (in_at > 0 && std::all_of(rest.begin(), rest.end(), [](uint8_t b) { return b == 0; }))
      break;  // padding
    if (!is_gzip(rest)) throw TraceError(source + ": damaged gzip data (unknown bytes after its end)");
    for (;;) {
      text.resize(out_at + capacity);
      size_t in_used = 0;
      size_t out_used = 0;
      libdeflate_result r = libdeflate_gzip_decompress_ex(
          d.get(), rest.data(), rest.size(), text.data() + out_at, capacity, &in_used, &out_used);
      if (r == LIBDEFLATE_SUCCESS) {
        in_at += in_used;
        out_at += out_used;
        break;
      }
      if (r != LIBDEFLATE_INSUFFICIENT_SPACE) {
        throw TraceError(source + ": damaged or cut-short gzip data (unpack the file with gunzip to see)");
      }
      if (out_at + capacity >= bound) {
        throw TraceError(source + ": unpacks to more than " + size_text(bound) +
                         "; not a trace this tool can read");
      }
      capacity = std::min<uint64_t>(2 * capacity, bound - out_at);
    }
  }
  text.resize(out_at);
  return text;
}

std::optional<int64_t> as_int(const JsonScalar& v) {
  using T = JsonScalar::Type;
  switch (v.type) {
    case T::Int:
      return v.i;
    case T::Unsigned:
      if (v.u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
      return static_cast<int64_t>(v.u);
    case T::Float:
      // 2^63 is exactly representable: the bound is exclusive.
      if (!std::isfinite(v.d) || v.d != std::floor(v.d) || v.d < -9.2233720368547758e18 ||
          v.d >= 9.2233720368547758e18)
        return std::nullopt;
      return static_cast<int64_t>(v.d);
    default:
      return std::nullopt;
  }
}

std::optional<uint64_t> as_uint(const JsonScalar& v) {
  if (v.type == JsonScalar::Type::Unsigned) return v.u;
  std::optional<int64_t> i = as_int(v);
  if (!i || *i < 0) return std::nullopt;
  return static_cast<uint64_t>(*i);
}

namespace {

// "1669783687464300.125" (digits, a point, digits) in thousandths, exactly;
// nullopt for other forms (exponents) or overflow.
std::optional<int64_t> thousandths(std::string_view text) {
  bool negative = !text.empty() && text.front() == '-';
  if (negative) text.remove_prefix(1);
  size_t point = text.find('.');
  std::string_view whole = text.substr(0, point);
  std::string_view fraction = point == std::string_view::npos ? std::string_view{} : text.substr(point + 1);
  if (whole.empty()) return std::nullopt;
  int64_t value = 0;
  auto append = [&value](char c) {
    return c >= '0' && c <= '9' && !__builtin_mul_overflow(value, 10, &value) &&
           !__builtin_add_overflow(value, c - '0', &value);
  };
  for (char c : whole) {
    if (!append(c)) return std::nullopt;
  }
  for (size_t k = 0; k < 3; ++k) {
    if (!append(k < fraction.size() ? fraction[k] : '0')) return std::nullopt;
  }
  for (size_t k = 3; k < fraction.size(); ++k) {
    if (fraction[k] < '0' || fraction[k] > '9') return std::nullopt;  // below a nanosecond: dropped
  }
  return negative ? -value : value;
}

}  // namespace

std::optional<int64_t> as_nanoseconds(const JsonScalar& v) {
  int64_t ns = 0;
  if (v.type == JsonScalar::Type::Float) {
    if (auto exact = thousandths(v.text)) return exact;
    double scaled = v.d * 1000.0;  // an exponent: as near as a double gets
    if (!std::isfinite(scaled) || std::fabs(scaled) >= 9.2e18) return std::nullopt;
    return static_cast<int64_t>(std::llround(scaled));
  }
  std::optional<int64_t> us = as_int(v);
  if (!us || __builtin_mul_overflow(*us, 1000, &ns)) return std::nullopt;
  return ns;
}

std::string as_key(const JsonScalar& v) {
  using T = JsonScalar::Type;
  switch (v.type) {
    case T::Int:
      return std::to_string(v.i);
    case T::Unsigned:
      return std::to_string(v.u);
    case T::Float:
    case T::String:
      return v.text;
    default:
      return {};
  }
}

std::string_view type_name(const JsonScalar& v) {
  using T = JsonScalar::Type;
  switch (v.type) {
    case T::Missing:
      return "missing";
    case T::Null:
      return "null";
    case T::Bool:
      return "a boolean";
    case T::Int:
      return "an integer";
    case T::Unsigned:
      return "an integer of 2^63 or more";
    case T::Float:
      return "a number with a fraction";
    case T::String:
      return "a string";
    case T::Composite:
      return "an object or array";
  }
  return "?";
}

}  // namespace vramscope::trace::profiler_input
