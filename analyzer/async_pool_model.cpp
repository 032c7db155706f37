#include "analyzer/async_pool_model.h"

#include <algorithm>
#include <iterator>

namespace vramscope::analysis {

bool AsyncPoolModel::allocate(uint32_t id, uint64_t size, uint64_t) {
  if (size > kLargestReplayRequest) return false;
  const uint64_t rounded = std::max(kAlignment, (size + kAlignment - 1) / kAlignment * kAlignment);
  if (top_ > UINT64_MAX - rounded - kPage) return false;  // past any address space a device has
  const Range range = place(rounded);
  const uint64_t first = range.address / kPage;
  const uint64_t end = (range.address + range.size - 1) / kPage + 1;
  uint64_t needed = unmapped_pages(first, end);
  if (needed > capacity_pages_ - mapped_pages_) {
    if (release_free_pages()) {
      retries_ += 1;
      needed = unmapped_pages(first, end);
    }
    if (needed > capacity_pages_ - mapped_pages_) {
      give_back(range);
      return false;
    }
  }
  if (needed > 0) mappings_.push_back(map(first, end) * kPage);
  if (live_.size() <= id) live_.resize(std::max<size_t>(size_t{id} + 1, live_.size() * 2));
  live_[id] = range;
  allocated_ += range.size;
  return true;
}

void AsyncPoolModel::free(uint32_t id) {
  if (id >= live_.size() || live_[id].size == 0) return;
  const Range range = live_[id];
  live_[id] = Range{};
  allocated_ -= range.size;
  give_back(range);  // its pages stay mapped: the release threshold keeps them in the pool
}

// The smallest free range that holds the request, the lowest address among
// equals; else the top of the address space.
AsyncPoolModel::Range AsyncPoolModel::place(uint64_t size) {
  auto it = free_by_size_.lower_bound({size, 0});
  if (it == free_by_size_.end()) {
    const Range range{top_, size};
    top_ += size;
    return range;
  }
  const auto [free_size, address] = *it;
  free_by_size_.erase(it);
  free_by_address_.erase(address);
  if (free_size > size) {
    free_by_address_.emplace(address + size, free_size - size);
    free_by_size_.emplace(free_size - size, address + size);
  }
  return Range{address, size};
}

// A range back to the free ones, merged with free neighbours; a free range
// that reaches the top becomes part of it.
void AsyncPoolModel::give_back(Range range) {
  auto next = free_by_address_.find(range.address + range.size);
  if (next != free_by_address_.end()) {
    range.size += next->second;
    free_by_size_.erase({next->second, next->first});
    free_by_address_.erase(next);
  }
  auto after = free_by_address_.lower_bound(range.address);
  if (after != free_by_address_.begin()) {
    auto before = std::prev(after);
    if (before->first + before->second == range.address) {
      range = Range{before->first, before->second + range.size};
      free_by_size_.erase({before->second, before->first});
      free_by_address_.erase(before);
    }
  }
  if (range.address + range.size == top_) {
    top_ = range.address;
    return;
  }
  free_by_address_.emplace(range.address, range.size);
  free_by_size_.emplace(range.size, range.address);
}

uint64_t AsyncPoolModel::unmapped_pages(uint64_t first, uint64_t end) const {
  uint64_t covered = 0;
  auto it = mapped_.upper_bound(first);
  if (it != mapped_.begin()) --it;
  for (; it != mapped_.end() && it->first < end; ++it) {
    const uint64_t low = std::max(it->first, first);
    const uint64_t high = std::min(it->second, end);
    if (high > low) covered += high - low;
  }
  return (end - first) - covered;
}

// Maps pages [first, end), joining the runs it touches; returns how many were new.
uint64_t AsyncPoolModel::map(uint64_t first, uint64_t end) {
  uint64_t low = first;
  uint64_t high = end;
  uint64_t already = 0;
  auto it = mapped_.upper_bound(first);
  if (it != mapped_.begin() && std::prev(it)->second >= first) --it;
  while (it != mapped_.end() && it->first <= end) {
    low = std::min(low, it->first);
    high = std::max(high, it->second);
    already += it->second - it->first;
    it = mapped_.erase(it);
  }
  mapped_.emplace(low, high);
  const uint64_t added = (high - low) - already;
  mapped_pages_ += added;
  return added;
}

void AsyncPoolModel::unmap(uint64_t first, uint64_t end) {
  auto it = mapped_.upper_bound(first);
  if (it != mapped_.begin()) --it;
  while (it != mapped_.end() && it->first < end) {
    const auto [low, high] = *it;
    if (high <= first) {
      ++it;
      continue;
    }
    it = mapped_.erase(it);
    mapped_pages_ -= std::min(high, end) - std::max(low, first);
    unmappings_ += 1;
    if (low < first) mapped_.emplace(low, first);
    if (high > end) mapped_.emplace(end, high);
  }
}

// Unmaps every mapped page with no live byte in it: those wholly inside a
// free range or above the top. True when any was.
bool AsyncPoolModel::release_free_pages() {
  const uint64_t before = mapped_pages_;
  for (const auto& [address, size] : free_by_address_) {
    const uint64_t first = (address + kPage - 1) / kPage;
    const uint64_t end = (address + size) / kPage;
    if (first < end) unmap(first, end);
  }
  if (!mapped_.empty()) unmap((top_ + kPage - 1) / kPage, std::prev(mapped_.end())->second);
  return mapped_pages_ < before;
}

}  // namespace vramscope::analysis
