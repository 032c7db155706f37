#include "analyzer/caching_allocator_model.h"

#include <algorithm>
#include <bit>

#include "formats/address_ranges.h"

namespace vramscope::analysis {

CachingAllocatorModel::CachingAllocatorModel(const TorchSettings& settings, uint64_t capacity,
                                             bool expandable)
    : settings_(settings), capacity_(capacity), expandable_(expandable) {}

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
  if (size > kLargestReplayRequest) return false;
  const uint64_t rounded = round_size(size);
  const bool small = rounded <= kSmallSize;
  Pool& pool = small ? small_ : large_;
  Block* block = take_free_block(pool, rounded, stream);
  if (block == nullptr) {
    if (settings_.garbage_collection_threshold > 0) garbage_collect();
    // alloc_block: a new segment, or with expandable segments more pages of one.
    auto fresh = [&] {
      return expandable_ ? grow_expandable(pool, rounded, stream, small)
                         : new_segment(segment_size(rounded), stream, small);
    };
    block = fresh();
    if (block == nullptr && release_available_cached_blocks(pool, rounded, stream)) {
      retries_ += 1;
      block = fresh();
    }
    if (block == nullptr && release_cached_blocks()) {
      retries_ += 1;
      block = fresh();
    }
    if (block == nullptr) return false;
  }
  // should_split: the small pool (and any pool with expandable segments)
  // keeps any rest of 512 bytes or more, the large pool a rest over 1 MiB,
  // and never splits a block for a request of max_split_size or more.
  const uint64_t rest = block->size - rounded;
  const bool split =
      small || expandable_ ? rest >= kMinBlockSize : rounded < settings_.max_split_size && rest > kSmallSize;
  if (split) cache(pool, split_off(block, rounded));
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
  merge_into(pool, block, block->prev);
  merge_into(pool, block, block->next);
  cache(pool, block);
}

// try_merge_blocks: a free neighbour in the same state (memory behind it or
// not) becomes part of `block`, which is in no set while it changes.
void CachingAllocatorModel::merge_into(Pool& pool, Block* block, Block* neighbour) {
  if (neighbour == nullptr || neighbour->allocated || neighbour->mapped != block->mapped) return;
  if (neighbour->mapped) {
    pool.blocks.erase(entry(neighbour));
  } else {
    pool.unmapped.erase(entry(neighbour));
  }
  if (neighbour == block->prev) {
    block->address = neighbour->address;
    block->prev = neighbour->prev;
    if (block->prev != nullptr) block->prev->next = block;
  } else {
    block->next = neighbour->next;
    if (block->next != nullptr) block->next->prev = block;
  }
  block->size += neighbour->size;
  drop_block(neighbour);
}

// get_free_block: the smallest cached block of the stream that holds the
// request (the lowest address among equals), except that a request under
// max_split_size takes no block of that size or more, and a bigger request
// no block of 20 MiB or more beyond it.
CachingAllocatorModel::Block* CachingAllocatorModel::take_free_block(Pool& pool, uint64_t size,
                                                                     uint64_t stream) {
  if (settings_.garbage_collection_threshold > 0) pool.searches += 1;
  auto it = pool.blocks.lower_bound(Entry{stream, size, 0, nullptr});
  if (it == pool.blocks.end() || it->stream != stream) return nullptr;
  if (it->block->expandable != nullptr) {
    // A block before unmapped address space counts as big as it could grow:
    // a later block that could grow less is the better fit.
    auto could_grow_to = [](const Block* b) {
      return b->size + (b->next != nullptr && !b->next->mapped ? b->next->size : 0);
    };
    for (auto next = std::next(it); next != pool.blocks.end() && next->stream == stream &&
                                    could_grow_to(next->block) < could_grow_to(it->block);
         ++next)
      it = next;
  }
  Block* block = it->block;
  const uint64_t max_split = settings_.max_split_size;
  if (size < max_split && block->size >= max_split) return nullptr;
  if (size >= max_split && block->size >= size + kLargeBuffer) return nullptr;
  pool.blocks.erase(it);
  return block;
}

CachingAllocatorModel::Block* CachingAllocatorModel::new_segment(uint64_t size, uint64_t stream, bool small) {
  if (size > capacity_ - reserved_) return nullptr;
  Block* block = make_block();
  block->address = segment_address(size);
  block->size = size;
  block->stream = stream;
  block->small = small;
  live_segments_.emplace(block->address, size);
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
  const uint64_t wanted = std::max(size, max_split);
  auto it = pool.blocks.lower_bound(Entry{stream, wanted, 0, nullptr});
  if (it != pool.blocks.end() && it->stream == stream && it->block->expandable == nullptr) {
    release_block(pool, it->block);
    return true;
  }
  if (it == pool.blocks.begin()) return false;
  uint64_t released = 0;
  --it;
  while (released < wanted && it->size >= max_split && it->stream == stream) {
    auto current = it;
    const bool first = current == pool.blocks.begin();
    if (!first) --it;
    if (current->block->expandable == nullptr) {
      released += current->size;
      release_block(pool, current->block);
    }
    if (first) break;
  }
  return released >= wanted;
}

// release_cached_blocks: every cached block that is a whole segment goes back.
// With expandable segments, every free block's whole pages are unmapped,
// and a segment left with no memory at all is given back.
bool CachingAllocatorModel::release_cached_blocks() {
  for (Pool* pool : {&large_, &small_}) {
    std::vector<Block*> to_unmap;
    for (auto it = pool->blocks.begin(); it != pool->blocks.end();) {
      Block* block = (it++)->block;
      if (block->expandable != nullptr) {
        to_unmap.push_back(block);
      } else if (!block->split()) {
        release_block(*pool, block);
      }
    }
    for (Block* block : to_unmap) {
      Block* unmapped = unmap_block(*pool, block);
      if (unmapped != nullptr && !unmapped->split()) {  // release_expandable_segment
        pool->unmapped.erase(entry(unmapped));
        drop_block(unmapped);
      }
    }
  }
  return true;
}

uint64_t CachingAllocatorModel::segment_address(uint64_t size) {
  const size_t n = segments_.size();  // this segment's place in the order (not yet counted)
  if (n < recorded_.size() && recorded_[n].size == size) {
    const uint64_t address = recorded_[n].address;
    if (!range_meets(live_segments_, address, size)) return address;  // no live segment there
  }
  const uint64_t address = next_address_;
  next_address_ += size;
  return address;
}

void CachingAllocatorModel::release_block(Pool& pool, Block* block) {
  live_segments_.erase(block->address);
  pool.blocks.erase(entry(block));
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
  for (const Entry& cached : large_.blocks) {
    const Block* block = cached.block;
    if (block->split() || block->expandable != nullptr) continue;
    total_age += large_.searches - block->gc_base;
    candidates += 1;
  }
  uint64_t reclaimed = 0;
  bool freed = true;
  while (reclaimed < target && freed && candidates > 0) {
    const double age_threshold = static_cast<double>(total_age) / static_cast<double>(candidates);
    freed = false;
    for (auto it = large_.blocks.begin(); it != large_.blocks.end();) {
      Block* block = (it++)->block;
      const uint64_t age = large_.searches - block->gc_base;
      if (block->split() || block->expandable != nullptr || static_cast<double>(age) < age_threshold)
        continue;
      freed = true;
      reclaimed += block->size;
      total_age -= age;
      candidates -= 1;
      release_block(large_, block);
    }
  }
}

// try_allocate_expandable_block: map pages of an expandable segment of the
// stream (a new one when none has room) until a free block holds the request.
CachingAllocatorModel::Block* CachingAllocatorModel::grow_expandable(Pool& pool, uint64_t size,
                                                                     uint64_t stream, bool small) {
  Block* candidate = find_expandable_block(pool, size, stream, small);
  if (!candidate->mapped && !map_block(pool, candidate, std::min(candidate->size, size))) return nullptr;
  while (candidate->size < size) {
    // free (mapped) -> unmapped: mapping some of the next merges them
    Block* next = candidate->next;
    if (next == nullptr || next->allocated) return nullptr;  // the segment's address space ends first
    if (!map_block(pool, next, std::min(size - candidate->size, next->size))) return nullptr;
    candidate = next;
  }
  pool.blocks.erase(entry(candidate));
  return candidate;
}

// find_expandable_block: the lowest unmapped range of the stream's
// segments (with the free block before it) with room for the request, else
// a new segment reserving 9/8 of the device's memory in address space.
CachingAllocatorModel::Block* CachingAllocatorModel::find_expandable_block(Pool& pool, uint64_t size,
                                                                           uint64_t stream, bool small) {
  auto free_block = [](const Block* b) { return b != nullptr && !b->allocated; };
  for (auto it = pool.unmapped.lower_bound(Entry{stream, 0, 0, nullptr});
       it != pool.unmapped.end() && it->stream == stream; ++it) {
    Block* candidate = it->block;
    if (free_block(candidate->prev)) candidate = candidate->prev;
    uint64_t room = 0;
    for (const Block* b = candidate; room < size && free_block(b); b = b->next) room += b->size;
    if (room >= size) return candidate;
  }
  Expandable& segment = expandables_.emplace_back();
  segment.page = small ? kSmallBuffer : kLargeBuffer;
  constexpr uint64_t kMostSpace = uint64_t{1} << 50;  // with no capacity: 1 PiB of address space
  const uint64_t space = capacity_ >= kMostSpace ? kMostSpace : capacity_ + capacity_ / 8;
  segment.size = (space + segment.page - 1) / segment.page * segment.page;
  segment.base = next_address_;
  next_address_ += segment.size;
  Block* block = make_block();
  block->address = segment.base;
  block->size = segment.size;
  block->stream = stream;
  block->small = small;
  block->mapped = false;
  block->expandable = &segment;
  pool.unmapped.insert(entry(block));
  return block;
}

// map_block: the pages under the first `size` bytes of an unmapped block get
// memory; the rest stays unmapped after it.
bool CachingAllocatorModel::map_block(Pool& pool, Block* block, uint64_t size) {
  const Expandable& segment = *block->expandable;
  const uint64_t first_page = (block->address - segment.base) / segment.page;
  const uint64_t end_page = (block->address + size - segment.base + segment.page - 1) / segment.page;
  const uint64_t bytes = (end_page - first_page) * segment.page;
  if (bytes > capacity_ - reserved_) return false;
  pool.unmapped.erase(entry(block));
  block->mapped = true;
  if (bytes < block->size) {
    Block* rest = split_off(block, bytes);
    rest->mapped = false;
    pool.unmapped.insert(entry(rest));
  }
  merge_into(pool, block, block->prev);
  merge_into(pool, block, block->next);
  cache(pool, block);
  reserved_ += bytes;
  segments_.push_back(bytes);
  return true;
}

// unmap_block: the whole pages inside a free block lose their memory; the
// bytes before and after them stay free blocks of their own. Returns the
// unmapped block (merged with unmapped neighbours), or null for none.
CachingAllocatorModel::Block* CachingAllocatorModel::unmap_block(Pool& pool, Block* block) {
  const Expandable& segment = *block->expandable;
  const uint64_t first_page = (block->address - segment.base + segment.page - 1) / segment.page;
  const uint64_t end_page = (block->address + block->size - segment.base) / segment.page;
  if (first_page >= end_page) return nullptr;
  pool.blocks.erase(entry(block));
  const uint64_t start = segment.base + first_page * segment.page;
  const uint64_t bytes = (end_page - first_page) * segment.page;
  Block* pages = block;
  if (start > block->address) {
    pages = split_off(block, start - block->address);
    cache(pool, block);
  }
  if (pages->size > bytes) cache(pool, split_off(pages, bytes));
  pages->mapped = false;
  merge_into(pool, pages, pages->prev);
  merge_into(pool, pages, pages->next);
  pool.unmapped.insert(entry(pages));
  reserved_ -= bytes;
  segments_released_ += 1;
  return pages;
}

// The bytes of `block` from `keep` on, as a block of their own after it,
// in the same state; in no set yet.
CachingAllocatorModel::Block* CachingAllocatorModel::split_off(Block* block, uint64_t keep) {
  Block* rest = make_block();
  rest->address = block->address + keep;
  rest->size = block->size - keep;
  rest->stream = block->stream;
  rest->small = block->small;
  rest->mapped = block->mapped;
  rest->expandable = block->expandable;
  rest->prev = block;
  rest->next = block->next;
  if (block->next != nullptr) block->next->prev = rest;
  block->next = rest;
  block->size = keep;
  return rest;
}

void CachingAllocatorModel::cache(Pool& pool, Block* block) {
  block->gc_base = pool.searches;
  pool.blocks.insert(entry(block));
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
