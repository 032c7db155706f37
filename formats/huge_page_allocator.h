// An allocator for big tables read at random (the live set of a trace holds
// a million allocations): their memory is asked for in 2 MiB pages, so that
// a lookup does not also miss the TLB. Small arrays are allocated as usual.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace vramscope {

// Asks for 2 MiB pages for the whole pages of [memory, memory + bytes): for
// a big buffer another allocator made (a std::vector reserved for millions
// of items), written front to back. A hint, as above.
inline void advise_huge_pages(void* memory, size_t bytes) {
  constexpr uintptr_t kPage = 4096;
  uintptr_t start = (reinterpret_cast<uintptr_t>(memory) + kPage - 1) & ~(kPage - 1);
  uintptr_t end = (reinterpret_cast<uintptr_t>(memory) + bytes) & ~(kPage - 1);
  if (end > start) madvise(reinterpret_cast<void*>(start), end - start, MADV_HUGEPAGE);
}

template <typename T>
struct HugePageAllocator {
  using value_type = T;
  static constexpr size_t kHugePage = size_t{2} << 20;

  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}

  T* allocate(size_t n) {
    size_t bytes = n * sizeof(T);
    if (!in_huge_pages(n)) return static_cast<T*>(::operator new (bytes, std::align_val_t{alignof(T)}));
    size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    void* memory = std::aligned_alloc(kHugePage, rounded);
    if (memory == nullptr) throw std::bad_alloc();
    madvise(memory, rounded, MADV_HUGEPAGE);  // a hint: without it the table works as well, only slower
    return static_cast<T*>(memory);
  }
  void deallocate(T* p, size_t n) {
    if (in_huge_pages(n)) {
      std::free(p);
    } else {
      ::operator delete (p, std::align_val_t{alignof(T)});
    }
  }
  // Arrays of a few pages are not worth 2 MiB pages of their own.
  static bool in_huge_pages(size_t n) { return n * sizeof(T) >= 2 * kHugePage; }

  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const {
    return true;
  }
};

}  // namespace vramscope
