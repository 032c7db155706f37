// A value per call path, found by stack id: the category pass looks one up
// for every tensor, and a trace's stack ids are dense, so a vector serves.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "formats/trace_events.h"

namespace vramscope::analysis {

template <typename T>
class PerStack {
 public:
  // The value of `stack`, value-initialized on first use. Valid until the
  // next lookup of an id not seen before.
  T& operator[](trace::StackId stack) {
    if (stack.value < dense_.size()) [[likely]]
      return dense_[stack.value];
    return grow_to(stack.value);
  }
  // The value of `stack`; value-initialized where it has none.
  T get(trace::StackId stack) const {
    if (stack.value < dense_.size()) return dense_[stack.value];
    auto found = sparse_.find(stack.value);
    return found == sparse_.end() ? T{} : found->second;
  }

 private:
  // An id no trace's stack table reaches (a corrupt record) gets a map
  // entry, not gigabytes of vector.
  static constexpr size_t kMaxDense = size_t{1} << 22;

  [[gnu::noinline]] T& grow_to(uint32_t id) {
    if (id >= kMaxDense) return sparse_[id];
    dense_.resize(std::min(kMaxDense, std::max<size_t>(id + 1, dense_.size() * 2)));
    return dense_[id];
  }

  std::vector<T> dense_;
  std::unordered_map<uint32_t, T> sparse_;
};

}  // namespace vramscope::analysis
