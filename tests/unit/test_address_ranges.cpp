// Address ranges by offset from their start, at the top of the address space
// above all: a range that ends at 2^64, whose end is 0 in 64 bits.
#include <doctest/doctest.h>

#include <cstdint>
#include <map>

#include "formats/address_ranges.h"

namespace vramscope {
namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kTop = UINT64_MAX - 2 * kMiB + 1;  // a 2 MiB range from here ends at 2^64

TEST_CASE("address ranges: a place is in a range from its first byte to before its end") {
  CHECK(range_has(0x1000, 0x100, 0x1000));
  CHECK(range_has(0x1000, 0x100, 0x10ff));
  CHECK_FALSE(range_has(0x1000, 0x100, 0x1100));
  CHECK_FALSE(range_has(0x1000, 0x100, 0xfff));
  CHECK_FALSE(range_has(0x1000, 0, 0x1000));  // an empty range has nothing
  // Ending at 2^64: its last byte is in it, and nothing wraps to 0.
  CHECK(range_has(kTop, 2 * kMiB, UINT64_MAX));
  CHECK(range_has(kTop, 2 * kMiB, kTop + kMiB));
  CHECK_FALSE(range_has(kTop, 2 * kMiB, 0));
  CHECK_FALSE(range_has(kTop, 2 * kMiB, kTop - 1));
  // A damaged range that would run past 2^64 still has what lies above its start.
  CHECK(range_has(kTop, UINT64_MAX, UINT64_MAX));
  CHECK_FALSE(range_has(kTop, UINT64_MAX, 5));
}

TEST_CASE("address ranges: a range holds another when every byte of it is inside") {
  CHECK(range_holds(0x1000, 0x100, 0x1000, 0x100));
  CHECK(range_holds(0x1000, 0x100, 0x1080, 0x80));
  CHECK_FALSE(range_holds(0x1000, 0x100, 0x1080, 0x81));
  CHECK_FALSE(range_holds(0x1000, 0x100, 0xff0, 0x10));
  CHECK(range_holds(0x1000, 0x100, 0x1100, 0));  // nothing, at its end
  CHECK_FALSE(range_holds(0x1000, 0x100, 0x1101, 0));
  CHECK_FALSE(range_holds(0x1000, 0x100, 0x1080, UINT64_MAX));  // a length that wraps
  // Ending at 2^64: a block up to the top is held; one that wraps past it is not.
  CHECK(range_holds(kTop, 2 * kMiB, kTop + kMiB, kMiB));
  CHECK(range_holds(kTop, 2 * kMiB, kTop, 2 * kMiB));
  CHECK(range_holds(kTop, 2 * kMiB, kTop, kMiB));  // its first half
  CHECK_FALSE(range_holds(kTop, 2 * kMiB, kTop + kMiB, kMiB + 1));
  CHECK_FALSE(range_holds(kTop, 2 * kMiB, kTop + kMiB, UINT64_MAX));
}

TEST_CASE("address ranges: the range at a place, in ranges by start") {
  const std::map<uint64_t, uint64_t> sizes{{0x1000, 0x100}, {0x2000, 0x1000}, {kTop, 2 * kMiB}};
  CHECK(range_at(sizes, 0xfff) == sizes.end());
  CHECK(range_at(sizes, 0x1000)->first == 0x1000);
  CHECK(range_at(sizes, 0x10ff)->first == 0x1000);
  CHECK(range_at(sizes, 0x1100) == sizes.end());  // between two ranges
  CHECK(range_at(sizes, 0x2fff)->first == 0x2000);
  CHECK(range_at(sizes, UINT64_MAX)->first == kTop);
  CHECK(range_at(sizes, kTop - 1) == sizes.end());

  // A value that is not the size, and a map that is not const: the iterator
  // can change the range it finds.
  struct Segment {
    uint64_t size = 0;
    int blocks = 0;
  };
  std::map<uint64_t, Segment> segments{{kTop, Segment{2 * kMiB, 0}}};
  auto at = range_at(segments, UINT64_MAX - 10, [](const Segment& s) { return s.size; });
  REQUIRE(at != segments.end());
  at->second.blocks += 1;
  CHECK(segments.at(kTop).blocks == 1);
  CHECK(range_at(segments, 0, [](const Segment& s) { return s.size; }) == segments.end());
}

TEST_CASE("address ranges: whether a range meets any of ranges by start") {
  const std::map<uint64_t, uint64_t> sizes{{0x1000, 0x100}, {0x2000, 0x1000}, {kTop, 2 * kMiB}};
  CHECK_FALSE(range_meets(sizes, 0, 0x1000));      // up to the first byte of the first
  CHECK(range_meets(sizes, 0, 0x1001));            // its first byte
  CHECK(range_meets(sizes, 0x10ff, 1));            // its last byte
  CHECK_FALSE(range_meets(sizes, 0x1100, 0xf00));  // the gap between two, whole
  CHECK(range_meets(sizes, 0x1100, 0xf01));        // and one byte more
  CHECK(range_meets(sizes, 0x800, 0x10000));       // over two of them
  CHECK(range_meets(sizes, 0x2800, 0x10));         // inside one
  CHECK_FALSE(range_meets(sizes, 0x3000, kTop - 0x3000));
  CHECK(range_meets(sizes, 0x3000, kTop - 0x3000 + 1));
  CHECK(range_meets(sizes, UINT64_MAX, 1));    // the top byte, in the range ending at 2^64
  CHECK_FALSE(range_meets(sizes, 0x1100, 0));  // nothing, in a gap
  CHECK(range_meets(sizes, 0x1080, 0));        // nothing, but inside a range: its place is taken
  const std::map<uint64_t, uint64_t> none;
  CHECK_FALSE(range_meets(none, 0, UINT64_MAX));
}

}  // namespace
}  // namespace vramscope
