// Unit tests of the lifetime log's packed records (fields too wide for them
// included, and a million at random) and of the pending frees of the category sweep, against plain
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

TEST_CASE("lifetime log: a wide record freed far later, kinds that are no tensors, the last allocations") {
  LifetimeLog log;
  LiveChange wide = allocated(0, 4, uint64_t{3} << 32, 7, 9);  // 12 GiB
  log.observe(4, wide);
  LiveChange block = allocated(1, 6, 32, 0, 9);
  block.allocation.kind = trace::MemoryKind::PinnedHost;  // not device memory: no tensor
  log.observe(6, block);
  LiveChange odd = allocated(2, 8, 16, 1, 3);
  odd.allocation.kind = static_cast<trace::MemoryKind>(200);  // a kind no build knows
  log.observe(8, odd);
  log.observe((size_t{1} << 34) + 4, freed(wide));

  std::vector<Lifetime> tensors;
  log.for_each_tensor([&](const Lifetime& l) { tensors.push_back(l); });
  REQUIRE(tensors.size() == 1);
  CHECK(log.tensor_count() == 1);
  CHECK_FALSE(log.has_tensor_blocks());
  CHECK(tensors[0].alloc_index == 4);
  CHECK(tensors[0].free_index == (size_t{1} << 34) + 4);
  CHECK(tensors[0].size == uint64_t{3} << 32);
  CHECK(tensors[0].device == 7);

  std::vector<Lifetime> all;
  log.for_each_allocation([&](const Lifetime& l) { all.push_back(l); });
  REQUIRE(all.size() == 3);
  CHECK(all[1].alloc_index == 6);
  CHECK(all[1].kind == trace::MemoryKind::PinnedHost);
  CHECK(all[2].alloc_index == 8);
  CHECK(static_cast<int>(all[2].kind) == 200);
  CHECK(all[2].free_index == kNeverFreed);

  CHECK(log.last_allocation(trace::StackId{9}) == 6);  // of any kind
  CHECK(log.last_allocation(trace::StackId{3}) == 8);
  CHECK(log.last_allocation(trace::StackId{4}) == 0);  // none
  log.observe(1000, allocated(3, 1000, 16, 0, 3));
  CHECK(log.last_allocation(trace::StackId{3}) == 1000);
}

TEST_CASE("lifetime log: with tensor blocks, only blocks are tensors") {
  LifetimeLog log;
  LiveChange segment = allocated(0, 1, 1 << 20, 0, 1);
  log.observe(1, segment);
  for (uint64_t i = 0; i < 3; ++i) {
    LiveChange block = allocated(1 + i, 2 + i, 256, 0, 2);
    block.allocation.kind = trace::MemoryKind::Block;
    log.observe(2 + i, block);
  }
  CHECK(log.has_tensor_blocks());
  CHECK(log.tensor_count() == 3);
  std::vector<size_t> seen;
  log.for_each_tensor([&](const Lifetime& l) { seen.push_back(l.alloc_index); });
  CHECK(seen == std::vector<size_t>{2, 3, 4});
}

TEST_CASE("lifetime log: a visit that returns false stops the walk") {
  LifetimeLog log;
  for (uint64_t i = 0; i < 10; ++i) log.observe(i, allocated(i, i, 16, 0, 1));
  int visited = 0;
  log.for_each_tensor([&](const Lifetime&) { return ++visited < 4; });
  CHECK(visited == 4);
}

TEST_CASE("lifetime log: a million random allocations and frees come back as made, in allocation order") {
  // Steps, sizes, stacks, kinds and devices that repeat and that do not, and
  // frees near and far (past the 16 bits a free keeps in place).
  std::mt19937_64 random(11);
  LifetimeLog log;
  std::vector<Lifetime> expected;
  std::vector<LiveChange> live;  // made, not freed yet
  const std::array<uint64_t, 6> sizes = {512, 4096, 100, uint64_t{3} << 33, 0, (uint64_t{1} << 20) + 7};
  size_t index = 0;
  for (uint64_t serial = 0; serial < 1'000'000; ++serial) {
    index += random() % 8 == 0 ? random() % 200'000 : 1 + random() % 3;
    const uint32_t stack = random() % 4 == 0 ? static_cast<uint32_t>(random() % 5000) : 7;
    const uint64_t size = random() % 3 == 0 ? sizes[random() % sizes.size()] : (1 + random() % 64) * 512;
    LiveChange made = allocated(serial, index, size, random() % 50 == 0 ? 300 : 0, stack);
    if (random() % 40 == 0) made.allocation.kind = trace::MemoryKind::PinnedHost;
    if (random() % 40 == 0) made.allocation.kind = static_cast<trace::MemoryKind>(200);
    log.observe(index, made);
    const Allocation& a = made.allocation;
    expected.push_back(Lifetime{index, kNeverFreed, a.kind, a.device, a.size, a.stack});
    live.push_back(made);
    // Free one at random now and then: the event after this one.
    if (random() % 2 == 0 && !live.empty()) {
      size_t pick = random() % live.size();
      ++index;
      log.observe(index, freed(live[pick]));
      expected[live[pick].allocation.serial].free_index = index;
      live[pick] = live.back();
      live.pop_back();
    }
  }
  size_t far = 0;
  for (const Lifetime& l : expected)
    far += l.free_index != kNeverFreed && l.free_index - l.alloc_index >= 65535;
  CHECK(far > 1000);  // the test reaches the frees kept aside

  size_t i = 0;
  bool all_same = true;
  log.for_each_allocation([&](const Lifetime& l) {
    const Lifetime& e = expected.at(i++);
    bool same = l.alloc_index == e.alloc_index && l.free_index == e.free_index && l.kind == e.kind &&
                l.device == e.device && l.size == e.size && l.stack.value == e.stack.value;
    if (!same && all_same) {
      CAPTURE(i - 1);
      CHECK(l.alloc_index == e.alloc_index);
      CHECK(l.free_index == e.free_index);
      CHECK(l.size == e.size);
      CHECK(l.device == e.device);
      CHECK(l.stack.value == e.stack.value);
    }
    all_same = all_same && same;
  });
  CHECK(i == expected.size());
  CHECK(all_same);
  // Tensors alone: device memory, the same in the same order.
  size_t tensors = 0;
  std::vector<size_t> tensor_indices;
  for (const Lifetime& e : expected) {
    if (e.kind == trace::MemoryKind::Device) tensor_indices.push_back(e.alloc_index);
  }
  bool tensors_same = true;
  log.for_each_tensor([&](const Lifetime& l) {
    tensors_same =
        tensors_same && tensors < tensor_indices.size() && l.alloc_index == tensor_indices[tensors];
    ++tensors;
  });
  CHECK(tensors == tensor_indices.size());
  CHECK(tensors_same);
  CHECK(log.tensor_count() == tensor_indices.size());
}

TEST_CASE("pending frees: frees at one event, of one category or two, of nothing, and past the ring") {
  analysis::PendingFrees<3> frees;
  std::array<uint64_t, 3> live{100, 200, 300};
  frees.add(10, 0, 5);
  frees.add(10, 0, 6);       // the same event and category: one slot
  frees.add(10, 2, 7);       // the same event, another category: aside
  frees.add(12, 1, 0);       // frees nothing
  frees.add(100'000, 1, 9);  // far past the ring
  frees.add(5000, 2, 11);    // past the ring as well
  CHECK(frees.fits_ring(4095));
  CHECK(!frees.fits_ring(4096));
  frees.release_until(9, live);
  CHECK(live == std::array<uint64_t, 3>{100, 200, 300});
  frees.release_until(10, live);
  CHECK(live == std::array<uint64_t, 3>{89, 200, 293});
  frees.release_until(4999, live);
  CHECK(live == std::array<uint64_t, 3>{89, 200, 293});
  CHECK(frees.fits_ring(5001));
  frees.add(5001, 0, 1);  // the ring has moved on: in it now
  frees.release_until(5001, live);
  CHECK(live == std::array<uint64_t, 3>{88, 200, 282});
  frees.release_until(200'000, live);  // more than a turn of the ring at once
  CHECK(live == std::array<uint64_t, 3>{88, 191, 282});
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
