#include "analyzer/caching_allocator_model.h"

#include <algorithm>
#include <bit>

namespace vramscope::analysis {

CachingAllocatorModel::CachingAllocatorModel(const TorchSettings& settings, uint64_t capacity)
    : settings_(settings), capacity_(capacity) {}

// round_size: 512 bytes at least; then either the next of `divisions` equal
// steps between two powers of two, or a multiple of 512.
uint64_t CachingAllocatorModel::round_size(uint64_t size) const {
  if (size < kMinBlockSize) return kMinBlockSize;
  const int log_size = 63 - std::countl_zero(size);
  const int index = std::clamp(log_size - 20, 0, 15);  // intervals from 1 MiB
  const uint64_t divisions = settings_.roundup_power2_divisions[static_cast<size_t>(index)];
  if (divisions > 1 && size > kMinBlockSize * divisions) {
    if (std::has_single_bit(size)) return size;
    const uint64_t floor = std::bit_floor(size);
    const uint64_t step = floor >> std::countr_zero(divisions);
    if (step == 0) return floor << 1;
    const uint64_t down = size & ~(step - 1);
    return down == size ? size : down + step;
  }
  return (size + kMinBlockSize - 1) / kMinBlockSize * kMinBlockSize;
}

// get_allocation_size: the segment a request that finds no cached block makes.
uint64_t CachingAllocatorModel::segment_size(uint64_t rounded) {
  if (rounded <= kSmallSize) return kSmallBuffer;
  if (rounded < kMinLargeAlloc) return kLargeBuffer;
  return (rounded + kRoundLarge - 1) / kRoundLarge * kRoundLarge;
}

bool CachingAllocatorModel::allocate(uint32_t id, uint64_t size, uint64_t stream) {
  const uint64_t rounded = round_size(size);
  const bool small = rounded <= kSmallSize;
  Pool& pool = small ? small_ : large_;
  Block* block = take_free_block(pool, rounded, stream);
  if (block == nullptr) {
    if (settings_.garbage_collection_threshold > 0) garbage_collect();
    const uint64_t bytes = segment_size(rounded);
    block = new_segment(bytes, stream, small);
    if (block == nullptr && release_available_cached_blocks(pool, rounded, stream)) {
      retries_ += 1;
      block = new_segment(bytes, stream, small);
    }
    if (block == nullptr && release_cached_blocks()) {
      retries_ += 1;
      block = new_segment(bytes, stream, small);
    }
    if (block == nullptr) return false;
  }
  // should_split: the small pool keeps any rest of 512 bytes or more, the
  // large pool a rest over 1 MiB, and never splits a block for a request of
  // max_split_size or more.
  const uint64_t rest = block->size - rounded;
  const bool split = small ? rest >= kMinBlockSize : rounded < settings_.max_split_size && rest > kSmallSize;
  if (split) {
    Block* remaining = make_block();
    remaining->address = block->address + rounded;
    remaining->size = rest;
    remaining->stream = block->stream;
    remaining->small = block->small;
    remaining->prev = block;
    remaining->next = block->next;
    if (block->next != nullptr) block->next->prev = remaining;
    block->next = remaining;
    block->size = rounded;
    cache(pool, remaining);
  }
  block->allocated = true;
  allocated_ += block->size;
  if (by_id_.size() <= id) by_id_.resize(std::max<size_t>(id + 1, by_id_.size() * 2), nullptr);
  by_id_[id] = block;
  return true;
}

void CachingAllocatorModel::free(uint32_t id) {
  if (id >= by_id_.size() || by_id_[id] == nullptr) return;
  Block* block = by_id_[id];
  by_id_[id] = nullptr;
  Pool& pool = block->small ? small_ : large_;
  allocated_ -= block->size;
  block->allocated = false;
  // Merged with free neighbours in its segment.
  if (Block* before = block->prev; before != nullptr && !before->allocated) {
    pool.blocks.erase(before);
    block->address = before->address;
    block->size += before->size;
    block->prev = before->prev;
    if (block->prev != nullptr) block->prev->next = block;
    drop_block(before);
  }
  if (Block* after = block->next; after != nullptr && !after->allocated) {
    pool.blocks.erase(after);
    block->size += after->size;
    block->next = after->next;
    if (block->next != nullptr) block->next->prev = block;
    drop_block(after);
  }
  cache(pool, block);
}

// get_free_block: the smallest cached block of the stream that holds the
// request (the lowest address among equals), except that a request under
// max_split_size takes no block of that size or more, and a bigger request
// no block of 20 MiB or more beyond it.
CachingAllocatorModel::Block* CachingAllocatorModel::take_free_block(Pool& pool, uint64_t size,
                                                                     uint64_t stream) {
  if (settings_.garbage_collection_threshold > 0) pool.searches += 1;
  Block key;
  key.size = size;
  key.stream = stream;
  auto it = pool.blocks.lower_bound(&key);
  if (it == pool.blocks.end() || (*it)->stream != stream) return nullptr;
  Block* block = *it;
  const uint64_t max_split = settings_.max_split_size;
  if (size < max_split && block->size >= max_split) return nullptr;
  if (size >= max_split && block->size >= size + kLargeBuffer) return nullptr;
  pool.blocks.erase(it);
  return block;
}

CachingAllocatorModel::Block* CachingAllocatorModel::new_segment(uint64_t size, uint64_t stream, bool small) {
  if (reserved_ + size > capacity_) return nullptr;
  Block* block = make_block();
  block->address = segment_address(size);
  block->size = size;
  block->stream = stream;
  block->small = small;
  live_segments_.emplace(block->address, block->address + size);
  reserved_ += size;
  segments_.push_back(size);
  return block;
}

// release_available_cached_blocks (with max_split_size set): the one cached
// oversize segment of the stream that covers the request, else the largest
// ones down until as much as the request is given back.
bool CachingAllocatorModel::release_available_cached_blocks(Pool& pool, uint64_t size, uint64_t stream) {
  const uint64_t max_split = settings_.max_split_size;
  if (max_split == UINT64_MAX) return false;
  Block key;
  key.size = std::max(size, max_split);
  key.stream = stream;
  auto it = pool.blocks.lower_bound(&key);
  if (it != pool.blocks.end() && (*it)->stream == stream) {
    release_block(pool, *it);
    return true;
  }
  if (it == pool.blocks.begin()) return false;
  uint64_t released = 0;
  --it;
  while (released < key.size && (*it)->size >= max_split && (*it)->stream == stream) {
    auto current = it;
    const bool first = current == pool.blocks.begin();
    if (!first) --it;
    released += (*current)->size;
    release_block(pool, *current);
    if (first) break;
  }
  return released >= key.size;
}

// release_cached_blocks: every cached block that is a whole segment goes back.
bool CachingAllocatorModel::release_cached_blocks() {
  for (Pool* pool : {&large_, &small_}) {
    for (auto it = pool->blocks.begin(); it != pool->blocks.end();) {
      Block* block = *it++;
      if (!block->split()) release_block(*pool, block);
    }
  }
  return true;
}

void CachingAllocatorModel::follow_addresses(std::vector<uint64_t> sizes, std::vector<uint64_t> addresses) {
  recorded_sizes_ = std::move(sizes);
  recorded_addresses_ = std::move(addresses);
}

uint64_t CachingAllocatorModel::segment_address(uint64_t size) {
  const size_t n = segments_.size();  // this segment's place in the order (not yet counted)
  if (n < recorded_sizes_.size() && n < recorded_addresses_.size() && recorded_sizes_[n] == size) {
    const uint64_t address = recorded_addresses_[n];
    auto after = live_segments_.upper_bound(address);
    const bool free_before = after == live_segments_.begin() || std::prev(after)->second <= address;
    const bool free_after = after == live_segments_.end() || after->first >= address + size;
    if (free_before && free_after) return address;
  }
  const uint64_t address = next_address_;
  next_address_ += size;
  return address;
}

void CachingAllocatorModel::release_block(Pool& pool, Block* block) {
  live_segments_.erase(block->address);
  pool.blocks.erase(block);
  reserved_ -= block->size;
  segments_released_ += 1;
  drop_block(block);
}

// garbage_collect_cached_blocks: above the threshold's share of the
// capacity, whole cached segments of the large pool at least as old as the
// average (in searches of the pool since they were cached) go back, rounds
// at a time, until the excess is given back.
void CachingAllocatorModel::garbage_collect() {
  const auto threshold =
      static_cast<uint64_t>(settings_.garbage_collection_threshold * static_cast<double>(capacity_));
  if (reserved_ <= threshold) return;
  const uint64_t target = reserved_ - threshold;
  uint64_t total_age = 0;
  uint64_t candidates = 0;
  for (const Block* block : large_.blocks) {
    if (block->split()) continue;
    total_age += large_.searches - block->gc_base;
    candidates += 1;
  }
  uint64_t reclaimed = 0;
  bool freed = true;
  while (reclaimed < target && freed && candidates > 0) {
    const double age_threshold = static_cast<double>(total_age) / static_cast<double>(candidates);
    freed = false;
    for (auto it = large_.blocks.begin(); it != large_.blocks.end();) {
      Block* block = *it++;
      const uint64_t age = large_.searches - block->gc_base;
      if (block->split() || static_cast<double>(age) < age_threshold) continue;
      freed = true;
      reclaimed += block->size;
      total_age -= age;
      candidates -= 1;
      release_block(large_, block);
    }
  }
}

void CachingAllocatorModel::cache(Pool& pool, Block* block) {
  block->gc_base = pool.searches;
  pool.blocks.insert(block);
}

CachingAllocatorModel::Block* CachingAllocatorModel::make_block() {
  if (!unused_.empty()) {
    Block* block = unused_.back();
    unused_.pop_back();
    *block = Block{};
    return block;
  }
  return &storage_.emplace_back();
}

void CachingAllocatorModel::drop_block(Block* block) { unused_.push_back(block); }

}  // namespace vramscope::analysis
