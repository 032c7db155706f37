// Arrays whose pages are all had at once, when made, not one fault at a time
// as they are first written. A log that grows to hundreds of megabytes and
// is written front to back takes a fault every 4 KiB otherwise, and in a
// virtual machine a fault costs as much as the zeroing of its page.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>

namespace vramscope {

// Unmaps what mmap gave, of `bytes` bytes.
struct Unmap {
  size_t bytes = 0;
  void operator()(const void* memory) const { munmap(const_cast<void*>(memory), bytes); }
};

template <typename T>
using PopulatedArray = std::unique_ptr<T[], Unmap>;

// `count` elements, zeroed: T's constructor does not run.
template <typename T>
PopulatedArray<T> make_populated(size_t count) {
  static_assert(std::is_trivially_default_constructible_v<T> && std::is_trivially_destructible_v<T>);
  size_t bytes = count * sizeof(T);
  void* memory =
      mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (memory == MAP_FAILED) throw std::bad_alloc();
  return PopulatedArray<T>(static_cast<T*>(memory), Unmap{bytes});
}

}  // namespace vramscope
