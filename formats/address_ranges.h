// Address ranges [start, start + size), compared by offset from their start.
// A range may end at the top of the address space (start + size = 2^64,
// which is 0 in 64 bits), and a damaged trace may give one that runs past
// it: nothing here adds a size to an address, so neither case wraps.
#pragma once

#include <cstdint>
#include <functional>
#include <iterator>

namespace vramscope {

// Whether `address` lies in [start, start + size).
constexpr bool range_has(uint64_t start, uint64_t size, uint64_t address) {
  return address >= start && address - start < size;
}

// Whether [address, address + length) lies wholly in [start, start + size).
constexpr bool range_holds(uint64_t start, uint64_t size, uint64_t address, uint64_t length) {
  return address >= start && address - start <= size && length <= size - (address - start);
}

// Of `ranges`, an ordered map from each range's start, the one that has
// `address`, or ranges.end(); size_of(value) is a range's size. The ranges
// are taken not to overlap: only the last that starts at or before `address`
// is asked. By default a value is the size. `Map` may be const, and the
// iterator is then const too.
template <class Map, class SizeOf = std::identity>
auto range_at(Map& ranges, uint64_t address, SizeOf size_of = {}) -> decltype(ranges.end()) {
  auto after = ranges.upper_bound(address);
  if (after == ranges.begin()) return ranges.end();
  auto at = std::prev(after);
  return range_has(at->first, size_of(at->second), address) ? at : ranges.end();
}

// Whether [start, start + size) meets any of `ranges` (as for range_at):
// one of them has `start` (even when `size` is 0: the place is taken), or
// the first to start after it starts inside. One search of the map.
template <class Map, class SizeOf = std::identity>
bool range_meets(const Map& ranges, uint64_t start, uint64_t size, SizeOf size_of = {}) {
  const auto after = ranges.upper_bound(start);
  if (after != ranges.begin()) {
    const auto at = std::prev(after);
    if (range_has(at->first, size_of(at->second), start)) return true;
  }
  return after != ranges.end() && range_has(start, size, after->first);
}

}  // namespace vramscope
