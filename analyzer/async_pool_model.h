// A model of the CUDA driver's stream-ordered allocator (cudaMallocAsync) as
// PyTorch's `backend:cudaMallocAsync` uses it: the device's default memory
// pool, its release threshold set to UINT64_MAX so that memory once mapped
// stays in the pool, and no allocator of PyTorch's own in front of it.
//
// The driver does not publish its pool's policy; docs/replay.md says what
// the model takes for it and why. In short: one address space for the
// device, each request rounded up to 512 bytes and placed at the lowest
// address of the smallest free range that holds it, freed ranges merged at
// once and served to any stream (the pool's default reuse policies), and
// physical memory mapped in 2 MiB pages the first time a range touches them.
// When a page more would pass the capacity, the pages with no live byte in
// them are unmapped first, as the pool gives memory back to the driver, and
// the request tried again.
#pragma once

#include <cstdint>
#include <map>
#include <memory_resource>
#include <set>
#include <utility>
#include <vector>

#include "analyzer/replay.h"

namespace vramscope::analysis {

class AsyncPoolModel {
 public:
  static constexpr uint64_t kAlignment = 512;
  static constexpr uint64_t kPage = 2 << 20;

  explicit AsyncPoolModel(uint64_t capacity) : capacity_pages_(capacity / kPage) {}

  // False when the pages the request needs cannot be mapped even after
  // unmapping every page with no live byte in it: cudaErrorMemoryAllocation.
  bool allocate(uint32_t id, uint64_t size, uint64_t stream);
  void free(uint32_t id);

  uint64_t reserved() const { return mapped_pages_ * kPage; }
  uint64_t allocated() const { return allocated_; }
  // Each request's new pages, in bytes, in order (a "segment" of the report).
  const std::vector<uint64_t>& segments() const { return mappings_; }
  uint64_t segments_released() const { return unmappings_; }  // runs of pages unmapped
  uint64_t retries() const { return retries_; }

 private:
  struct Range {
    uint64_t address = 0;
    uint64_t size = 0;
  };
  Range place(uint64_t size);
  void give_back(Range range);
  uint64_t unmapped_pages(uint64_t first, uint64_t end) const;
  uint64_t map(uint64_t first, uint64_t end);
  void unmap(uint64_t first, uint64_t end);
  bool release_free_pages();

  uint64_t capacity_pages_;
  // The sets' nodes come and go at every request: kept for reuse, not freed.
  std::pmr::unsynchronized_pool_resource nodes_;
  std::pmr::map<uint64_t, uint64_t> free_by_address_{&nodes_};  // free ranges below top_: address → size
  std::pmr::set<std::pair<uint64_t, uint64_t>> free_by_size_{&nodes_};  // the same as (size, address)
  uint64_t top_ = 0;                                                    // every address from here up is free
  std::pmr::map<uint64_t, uint64_t> mapped_{&nodes_};  // runs of mapped pages: first page → end page
  uint64_t mapped_pages_ = 0;
  std::vector<Range> live_;  // by id; size 0: none
  uint64_t allocated_ = 0;
  std::vector<uint64_t> mappings_;
  uint64_t unmappings_ = 0;
  uint64_t retries_ = 0;
};

}  // namespace vramscope::analysis
