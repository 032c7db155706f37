// A model of PyTorch's CUDA caching allocator (c10/cuda/CUDACachingAllocator,
// as of PyTorch 2.5): the same rounding, pools, segment sizes, best fit,
// splits, merges, max_split_size and roundup_power2_divisions rules, the
// release of cached segments and retry when the device is full, and the
// garbage collection threshold. docs/replay.md cites the policy rule by rule.
//
// Addresses decide between blocks of the same size. The model's n-th segment
// takes the address of the recording's n-th segment when it has the same
// size (and that range is free in the model), so that a replay of the
// recorded settings lays blocks out as the job did; any other segment takes
// an address of its own, above every address a GPU gives.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <memory_resource>
#include <set>
#include <span>
#include <vector>

#include "analyzer/replay.h"

namespace vramscope::analysis {

class CachingAllocatorModel {
 public:
  static constexpr uint64_t kMinBlockSize = 512;
  static constexpr uint64_t kSmallSize = 1 << 20;     // largest request of the small pool
  static constexpr uint64_t kSmallBuffer = 2 << 20;   // a small pool's segment
  static constexpr uint64_t kLargeBuffer = 20 << 20;  // a segment for a request under kMinLargeAlloc
  static constexpr uint64_t kMinLargeAlloc = 10 << 20;
  static constexpr uint64_t kRoundLarge = 2 << 20;  // bigger segments are rounded to this

  // `expandable`: expandable_segments:True, one growing segment per stream
  // and pool, mapped in pages of 2 MiB (small pool) or 20 MiB (large pool).
  CachingAllocatorModel(const TorchSettings& settings, uint64_t capacity, bool expandable = false);

  // False when the device cannot hold it even after giving back every
  // cached segment: the job would have raised OutOfMemoryError.
  bool allocate(uint32_t id, uint64_t size, uint64_t stream);
  void free(uint32_t id);
  // Room for ids below `allocations`, at once.
  void reserve(uint32_t allocations) { by_id_.resize(std::max<size_t>(by_id_.size(), allocations), nullptr); }
  // The recording's segments, in the order it made them; they must outlive
  // the model.
  void follow_addresses(std::span<const RecordedSegment> recorded) { recorded_ = recorded; }

  uint64_t reserved() const { return reserved_; }
  uint64_t allocated() const { return allocated_; }
  const std::vector<uint64_t>& segments() const { return segments_; }
  uint64_t segments_released() const { return segments_released_; }
  uint64_t retries() const { return retries_; }

  uint64_t round_size(uint64_t size) const;
  static uint64_t segment_size(uint64_t rounded);

 private:
  struct Expandable {
    uint64_t base = 0;
    uint64_t size = 0;  // address space reserved
    uint64_t page = 0;
  };
  struct Block {
    uint64_t address = 0;
    uint64_t size = 0;
    uint64_t stream = 0;
    Block* prev = nullptr;  // neighbours in the segment
    Block* next = nullptr;
    bool allocated = false;
    bool small = false;
    bool mapped = true;  // false: address space of an expandable segment with no memory behind it
    Expandable* expandable = nullptr;
    uint64_t gc_base = 0;  // the pool's search count when it was cached
    bool split() const { return prev != nullptr || next != nullptr; }
  };
  // A free block in a pool's set, with the fields it is ordered by kept
  // beside it: a search compares without reaching into the blocks.
  struct Entry {
    uint64_t stream = 0;
    uint64_t size = 0;
    uint64_t address = 0;
    Block* block = nullptr;
  };
  struct BySize {
    bool operator()(const Entry& a, const Entry& b) const {
      if (a.stream != b.stream) return a.stream < b.stream;
      if (a.size != b.size) return a.size < b.size;
      return a.address < b.address;
    }
  };
  struct ByAddress {
    bool operator()(const Entry& a, const Entry& b) const {
      return a.stream != b.stream ? a.stream < b.stream : a.address < b.address;
    }
  };
  static Entry entry(Block* b) { return Entry{b->stream, b->size, b->address, b}; }
  struct Pool {
    explicit Pool(std::pmr::memory_resource* nodes) : blocks(nodes), unmapped(nodes) {}
    std::pmr::set<Entry, BySize> blocks;       // free blocks with memory behind them
    std::pmr::set<Entry, ByAddress> unmapped;  // expandable segments' address space with none
    uint64_t searches = 0;  // for the garbage collector's ages
  };

  Block* take_free_block(Pool& pool, uint64_t size, uint64_t stream);
  Block* new_segment(uint64_t size, uint64_t stream, bool small);
  Block* grow_expandable(Pool& pool, uint64_t size, uint64_t stream, bool small);
  Block* find_expandable_block(Pool& pool, uint64_t size, uint64_t stream, bool small);
  bool map_block(Pool& pool, Block* block, uint64_t size);
  Block* unmap_block(Pool& pool, Block* block);
  Block* split_off(Block* block, uint64_t keep);
  void merge_into(Pool& pool, Block* block, Block* neighbour);
  bool release_available_cached_blocks(Pool& pool, uint64_t size, uint64_t stream);
  bool release_cached_blocks();
  void release_block(Pool& pool, Block* block);
  void garbage_collect();
  void cache(Pool& pool, Block* block);
  uint64_t segment_address(uint64_t size);
  Block* make_block();
  void drop_block(Block* block);

  TorchSettings settings_;
  uint64_t capacity_;
  bool expandable_;
  // The sets' nodes come and go at every request: kept for reuse, not freed.
  std::pmr::unsynchronized_pool_resource nodes_;
  std::deque<Expandable> expandables_;
  Pool small_{&nodes_};
  Pool large_{&nodes_};
  std::vector<Block*> by_id_;
  std::deque<Block> storage_;
  std::vector<Block*> unused_;
  uint64_t next_address_ = uint64_t{1} << 57;
  std::span<const RecordedSegment> recorded_;
  std::map<uint64_t, uint64_t> live_segments_;  // base → size
  uint64_t reserved_ = 0;
  uint64_t allocated_ = 0;
  std::vector<uint64_t> segments_;
  uint64_t segments_released_ = 0;
  uint64_t retries_ = 0;
};

}  // namespace vramscope::analysis
