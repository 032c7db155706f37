// A small PyTorch-like caching allocator for the samples, annotated with the
// NVTX memory API so that a profiler sees the tensor blocks it hands out.
//
// Requests are rounded up to 512 bytes. Segments come from cudaMalloc: 2 MiB
// for requests up to 1 MiB (the small pool), 20 MiB for requests up to 10 MiB,
// and for bigger ones a segment of their own size rounded up to 2 MiB (the
// large pool). A request takes the best-fitting cached free block of its pool
// and stream (the smallest that fits, then the lowest address); a block bigger
// than needed is split when the rest is at least 512 bytes (small pool) or more
// than 1 MiB (large pool). A freed block goes back to the cache, merged with
// free neighbours in its segment. Segments go back to the driver only from
// release_cached() (segments wholly free; also tried once when cudaMalloc
// fails, before giving up) and release_all().
//
// NVTX: one heap per segment (nvtxMemHeapRegister over the segment's range).
// Each block handed out is registered as a region of it (its pointer and its
// block size) and unregistered when it comes back; release_all() resets every
// heap (ending the regions still live, such as parameters kept to the end),
// then frees each segment and unregisters its heap.
#pragma once

#include <cuda_runtime_api.h>
#include <nvtx3/nvToolsExt.h>
#include <nvtx3/nvToolsExtMem.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "common/sample_support.h"

namespace sample {

class CachingAllocator {
 public:
  static constexpr uint64_t kMinBlock = 512;
  static constexpr uint64_t kSmallRequest = 1 << 20;  // up to this: the small pool
  static constexpr uint64_t kSmallSegment = 2 << 20;
  static constexpr uint64_t kLargeRequest = 10 << 20;  // up to this: a 20 MiB segment
  static constexpr uint64_t kLargeSegment = 20 << 20;
  static constexpr uint64_t kSegmentRounding = 2 << 20;

  struct Stats {
    uint64_t segments = 0;
    uint64_t reserved_bytes = 0;
    uint64_t allocated_bytes = 0;
    uint64_t cached_free_bytes = 0;
    uint64_t largest_free_block = 0;
  };

  CachingAllocator() = default;
  ~CachingAllocator() { release_all(); }
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  static uint64_t rounded(uint64_t bytes) {
    return (std::max<uint64_t>(bytes, 1) + kMinBlock - 1) / kMinBlock * kMinBlock;
  }
  static uint64_t segment_size_for(uint64_t bytes) {
    uint64_t size = rounded(bytes);
    if (size <= kSmallRequest) return kSmallSegment;
    if (size <= kLargeRequest) return kLargeSegment;
    return (size + kSegmentRounding - 1) / kSegmentRounding * kSegmentRounding;
  }

  // A block of at least `bytes`, or nullptr with cudaMalloc's error when a
  // new segment was needed and none could be had.
  void* allocate(uint64_t bytes, cudaStream_t stream, cudaError_t* error) {
    uint64_t size = rounded(bytes);
    bool small = size <= kSmallRequest;
    Pool& pool = small ? small_ : large_;
    Block key{nullptr, size, nullptr, stream};
    Block* block = nullptr;
    auto found = pool.lower_bound(&key);
    if (found != pool.end() && (*found)->stream == stream) {
      block = *found;
      pool.erase(found);
    } else {
      block = new_segment(segment_size_for(size), small, stream, error);
      if (!block && release_cached() > 0) block = new_segment(segment_size_for(size), small, stream, error);
      if (!block) return nullptr;
    }
    uint64_t rest = block->size - size;
    if (small ? rest >= kMinBlock : rest > kSmallRequest) {
      auto* remainder = new Block{block->ptr + size, rest, block->segment, stream};
      remainder->prev = block;
      remainder->next = block->next;
      if (block->next) block->next->prev = remainder;
      block->next = remainder;
      block->size = size;
      pool.insert(remainder);
    }
    block->allocated = true;
    allocated_[block->ptr] = block;
    annotate_handed_out(block);
    return block->ptr;
  }

  void release(void* pointer) {
    auto found = allocated_.find(static_cast<char*>(pointer));
    if (found == allocated_.end()) fail("CachingAllocator::release", "not a block of this allocator");
    Block* block = found->second;
    allocated_.erase(found);
    annotate_returned(block);
    block->allocated = false;
    Pool& pool = block->segment->small ? small_ : large_;
    if (Block* next = block->next; next && !next->allocated) {
      pool.erase(next);  // before its size changes: the pool is ordered by size
      block->size += next->size;
      unlink(next);
    }
    if (Block* prev = block->prev; prev && !prev->allocated) {
      pool.erase(prev);
      prev->size += block->size;
      unlink(block);
      block = prev;
    }
    pool.insert(block);
  }

  // Gives the driver back every segment that is wholly free; returns how many.
  uint64_t release_cached() {
    uint64_t released = 0;
    for (size_t i = 0; i < segments_.size();) {
      Segment* s = segments_[i];
      if (s->first->allocated || s->first->size != s->size) {
        ++i;
        continue;
      }
      (s->small ? small_ : large_).erase(s->first);
      delete s->first;
      free_segment(s);
      segments_.erase(segments_.begin() + static_cast<std::ptrdiff_t>(i));
      ++released;
    }
    return released;
  }

  // Ends every block, live or cached, and gives every segment back.
  void release_all() {
    for (Segment* s : segments_) {
      nvtxMemHeapReset(nullptr, s->heap);
      for (Block* b = s->first; b;) {
        Block* next = b->next;
        if (b->allocated) {
          allocated_.erase(b->ptr);
        } else {
          (s->small ? small_ : large_).erase(b);
        }
        delete b;
        b = next;
      }
      free_segment(s);
    }
    segments_.clear();
  }

  Stats stats() const {
    Stats st;
    for (const Segment* s : segments_) {
      st.segments += 1;
      st.reserved_bytes += s->size;
      for (const Block* b = s->first; b; b = b->next) {
        if (b->allocated) {
          st.allocated_bytes += b->size;
        } else {
          st.cached_free_bytes += b->size;
          st.largest_free_block = std::max(st.largest_free_block, b->size);
        }
      }
    }
    return st;
  }

 private:
  struct Segment;
  struct Block {
    char* ptr;
    uint64_t size;
    Segment* segment;
    cudaStream_t stream;
    bool allocated = false;
    Block* prev = nullptr;  // neighbours in the segment, by address
    Block* next = nullptr;
  };
  struct Segment {
    char* ptr;
    uint64_t size;
    bool small;
    nvtxMemHeapHandle_t heap;
    Block* first;  // the block at the segment's start: merges never remove it
  };
  // Best fit per stream: by stream, then size, then address.
  struct BestFit {
    bool operator()(const Block* a, const Block* b) const {
      auto sa = reinterpret_cast<uintptr_t>(a->stream), sb = reinterpret_cast<uintptr_t>(b->stream);
      if (sa != sb) return sa < sb;
      if (a->size != b->size) return a->size < b->size;
      return a->ptr < b->ptr;
    }
  };
  using Pool = std::set<Block*, BestFit>;

  Block* new_segment(uint64_t size, bool small, cudaStream_t stream, cudaError_t* error) {
    void* memory = nullptr;
    cudaError_t result = cudaMalloc(&memory, size);
    if (result != cudaSuccess) {
      if (error) *error = result;
      return nullptr;
    }
    nvtxMemVirtualRangeDesc_t range{};
    range.ptr = memory;
    range.size = size;
    nvtxMemHeapDesc_t desc{};
    desc.extCompatID = NVTX_EXT_COMPATID_MEM;
    desc.structSize = sizeof desc;
    desc.usage = NVTX_MEM_HEAP_USAGE_TYPE_SUB_ALLOCATOR;
    desc.type = NVTX_MEM_TYPE_VIRTUAL_ADDRESS;
    desc.typeSpecificDescSize = sizeof range;
    desc.typeSpecificDesc = &range;
    auto* segment =
        new Segment{static_cast<char*>(memory), size, small, nvtxMemHeapRegister(nullptr, &desc), nullptr};
    segment->first = new Block{segment->ptr, size, segment, stream};
    segments_.push_back(segment);
    return segment->first;
  }

  void free_segment(Segment* s) {
    check(cudaFree(s->ptr), "cudaFree");
    nvtxMemHeapUnregister(nullptr, s->heap);
    delete s;
  }

  // Takes `b` out of its segment's list and deletes it.
  static void unlink(Block* b) {
    if (b->prev) b->prev->next = b->next;
    if (b->next) b->next->prev = b->prev;
    delete b;
  }

  static void annotate_handed_out(const Block* b) {
    nvtxMemVirtualRangeDesc_t region{};
    region.ptr = b->ptr;
    region.size = b->size;
    nvtxMemRegionsRegisterBatch_t batch{};
    batch.extCompatID = NVTX_EXT_COMPATID_MEM;
    batch.structSize = sizeof batch;
    batch.regionType = NVTX_MEM_TYPE_VIRTUAL_ADDRESS;
    batch.heap = b->segment->heap;
    batch.regionCount = 1;
    batch.regionDescElementSize = sizeof region;
    batch.regionDescElements = &region;
    nvtxMemRegionsRegister(nullptr, &batch);
  }

  static void annotate_returned(const Block* b) {
    nvtxMemRegionRef_t ref{};
    ref.pointer = b->ptr;
    nvtxMemRegionsUnregisterBatch_t batch{};
    batch.extCompatID = NVTX_EXT_COMPATID_MEM;
    batch.structSize = sizeof batch;
    batch.refType = NVTX_MEM_REGION_REF_TYPE_POINTER;
    batch.refCount = 1;
    batch.refElementSize = sizeof ref;
    batch.refElements = &ref;
    nvtxMemRegionsUnregister(nullptr, &batch);
  }

  Pool small_, large_;
  std::map<char*, Block*> allocated_;
  std::vector<Segment*> segments_;
};

}  // namespace sample
