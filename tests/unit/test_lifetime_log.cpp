// Unit tests of the lifetime log's packed records (fields too wide for them
// included) and of the pending frees of the category sweep, against plain
// reference computations.
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <random>
#include <vector>

#include "analyzer/lifetimes.h"
#include "analyzer/pending_frees.h"

using namespace vramscope;
using analysis::Allocation;
using analysis::kNeverFreed;
using analysis::Lifetime;
using analysis::LifetimeLog;
using analysis::LiveChange;

namespace {

LiveChange allocated(uint64_t serial, size_t index, uint64_t size, uint32_t device, uint32_t stack) {
  LiveChange change;
  change.what = LiveChange::What::Allocated;
  change.allocation.kind = trace::MemoryKind::Device;
  change.allocation.device = device;
  change.allocation.size = size;
  change.allocation.stack = trace::StackId{stack};
  change.allocation.serial = serial;
  change.allocation.event_index = index;
  return change;
}

LiveChange freed(const LiveChange& made) {
  LiveChange change = made;
  change.what = LiveChange::What::Freed;
  return change;
}

}  // namespace

TEST_CASE("lifetime log: sizes, steps, devices and frees too wide for a record come back whole") {
  struct Expected {
    size_t alloc_index;
    size_t free_index;
    uint64_t size;
    uint32_t device;
    uint32_t stack;
  };
  const std::vector<Expected> expected = {
      {3, 5, 100, 0, 1},
      {10, kNeverFreed, uint64_t{5} << 32, 0, 2},       // 20 GiB
      {200'000, 200'001, 64, 0, 3},                     // a step past 16 bits
      {200'002, kNeverFreed, 8, 300, 4},                // a device past 254
      {200'003, (size_t{1} << 33) + 7, 4096, 1, 5},     // freed 8 Gi events later
      {200'004, 200'006, 0xffffffffu, 2, 0xfffffff0u},  // the size that marks wide fields
  };
  LifetimeLog log;
  std::vector<LiveChange> made;
  for (const Expected& e : expected) {
    made.push_back(allocated(made.size(), e.alloc_index, e.size, e.device, e.stack));
    log.observe(e.alloc_index, made.back());
  }
  // Frees in index order, as a walk gives them.
  log.observe(5, freed(made[0]));
  log.observe(200'001, freed(made[2]));
  log.observe(200'006, freed(made[5]));
  log.observe((size_t{1} << 33) + 7, freed(made[4]));

  std::vector<Lifetime> seen;
  log.for_each_tensor([&](const Lifetime& l) { seen.push_back(l); });
  REQUIRE(seen.size() == expected.size());
  CHECK(log.tensor_count() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    CAPTURE(i);
    CHECK(seen[i].alloc_index == expected[i].alloc_index);
    CHECK(seen[i].free_index == expected[i].free_index);
    CHECK(seen[i].size == expected[i].size);
    CHECK(seen[i].device == expected[i].device);
    CHECK(seen[i].stack.value == expected[i].stack);
  }
}

TEST_CASE("lifetime log: a visit that returns false stops the walk") {
  LifetimeLog log;
  for (uint64_t i = 0; i < 10; ++i) log.observe(i, allocated(i, i, 16, 0, 1));
  int visited = 0;
  log.for_each_tensor([&](const Lifetime&) { return ++visited < 4; });
  CHECK(visited == 4);
}

TEST_CASE("pending frees: live bytes per category match a direct count at every allocation") {
  constexpr size_t kCategories = 3;
  std::mt19937_64 random(7);
  struct Tensor {
    size_t alloc_index;
    size_t free_index;
    size_t category;
    uint64_t size;
  };
  std::vector<Tensor> tensors;
  size_t index = 0;
  for (int i = 0; i < 5000; ++i) {
    index += 1 + random() % 40;
    size_t life = random() % 4 == 0 ? 1 + random() % 5000 : 1 + random() % 50;  // some past the ring
    tensors.push_back(Tensor{index, random() % 10 == 0 ? kNeverFreed : index + life, random() % kCategories,
                             1 + random() % 1000});
  }
  analysis::PendingFrees<kCategories> frees;
  std::array<uint64_t, kCategories> live{};
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    frees.release_until(t.alloc_index, live);
    live[t.category] += t.size;
    std::array<uint64_t, kCategories> direct{};
    for (size_t j = 0; j <= i; ++j) {
      if (tensors[j].free_index > t.alloc_index) direct[tensors[j].category] += tensors[j].size;
    }
    REQUIRE(live == direct);
    if (t.free_index != kNeverFreed) frees.add(t.free_index, t.category, t.size);
  }
}
