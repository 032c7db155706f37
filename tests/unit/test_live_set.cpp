// Unit tests of the live set's slots and records: where keys land, how runs
// close up after an erase, growth, and the reuse of freed records.
#include <doctest/doctest.h>

#include <map>
#include <random>
#include <utility>
#include <vector>

#include "analyzer/allocation_table.h"

using namespace vramscope;
using analysis::Allocation;
using analysis::AllocationTable;
using trace::MemoryKind;

namespace {

Allocation allocation(MemoryKind kind, uint64_t address, uint64_t size) {
  Allocation a;
  a.kind = kind;
  a.address = address;
  a.size = size;
  return a;
}

// Device addresses whose lookups begin at `home` in a table of `slots` slots.
std::vector<uint64_t> addresses_at(size_t home, size_t slots, size_t count) {
  std::vector<uint64_t> found;
  for (uint64_t address = 4096; found.size() < count; address += 4096) {
    if ((trace::AddressKey{trace::AddressSpace::DevicePointer, address}.hash() & (slots - 1)) == home)
      found.push_back(address);
  }
  return found;
}

std::vector<uint64_t> sizes_in_slot_order(const AllocationTable& table) {
  std::vector<uint64_t> sizes;
  table.for_each([&](const Allocation& a) { sizes.push_back(a.size); });
  return sizes;
}

}  // namespace

TEST_CASE("live set: a run that wraps past the last slot closes up when its first key goes") {
  AllocationTable table;
  std::vector<uint64_t> at_end = addresses_at(63, 64, 3);
  std::vector<uint64_t> at_start = addresses_at(0, 64, 1);
  // Three keys of home 63 take slots 63, 0 and 1; a key of home 0 then slot 2.
  for (size_t i = 0; i < 3; ++i)
    REQUIRE(table.insert(allocation(MemoryKind::Device, at_end[i], 10 + i)).second);
  REQUIRE(table.insert(allocation(MemoryKind::Device, at_start[0], 20)).second);
  CHECK(table.slot_count() == 64);
  CHECK(sizes_in_slot_order(table) == std::vector<uint64_t>{11, 12, 20, 10});

  // Emptying slot 63 pulls 11 back to its home and 12 and 20 back by one.
  table.erase(table.find(MemoryKind::Device, at_end[0]));
  CHECK(sizes_in_slot_order(table) == std::vector<uint64_t>{12, 20, 11});
  CHECK(table.find(MemoryKind::Device, at_end[0]) == nullptr);
  CHECK(table.find(MemoryKind::Device, at_end[1])->size == 11);
  CHECK(table.find(MemoryKind::AsyncPool, at_end[2])->size == 12);  // one space for device pointers
  CHECK(table.find(MemoryKind::Managed, at_start[0])->size == 20);

  // Emptying slot 1 (20, at home 0 since the last erase): nothing after it moves.
  Allocation* twenty = table.find(MemoryKind::Device, at_start[0]);
  table.find(MemoryKind::Device, at_end[1]);  // erase() does not need the latest find's key
  table.erase(twenty);
  CHECK(sizes_in_slot_order(table) == std::vector<uint64_t>{12, 11});
  CHECK(table.size() == 2);
}

TEST_CASE("live set: an insert at a live key leaves the allocation there unchanged") {
  AllocationTable table;
  REQUIRE(table.insert(allocation(MemoryKind::Device, 0x1000, 10)).second);
  REQUIRE(
      table.insert(allocation(MemoryKind::VirtualPhysical, 0x1000, 30)).second);  // a handle, not a pointer
  auto [existing, inserted] = table.insert(allocation(MemoryKind::AsyncPool, 0x1000, 99));
  CHECK_FALSE(inserted);
  CHECK(existing->kind == MemoryKind::Device);
  CHECK(existing->size == 10);
  CHECK(table.size() == 2);
}

TEST_CASE("live set: the slots double when an insert would make them more than a quarter full") {
  AllocationTable table;
  CHECK(table.slot_count() == 0);
  table.insert(allocation(MemoryKind::Device, 0x1000, 0));
  CHECK(table.slot_count() == 64);
  for (uint64_t i = 1; i < 16; ++i) table.insert(allocation(MemoryKind::Device, 0x1000 + i * 512, i));
  CHECK(table.size() == 16);
  CHECK(table.slot_count() == 64);
  // Growth is decided before the key is looked for.
  CHECK_FALSE(table.insert(allocation(MemoryKind::Device, 0x1000, 99)).second);
  CHECK(table.slot_count() == 128);
  for (uint64_t i = 16; i < 33; ++i) table.insert(allocation(MemoryKind::Device, 0x1000 + i * 512, i));
  CHECK(table.size() == 33);
  CHECK(table.slot_count() == 256);
  for (uint64_t i = 0; i < 33; ++i) REQUIRE(table.find(MemoryKind::Device, 0x1000 + i * 512)->size == i);
}

TEST_CASE("live set: freed records are reused, the last freed first") {
  // A record's pointer is valid until the next insert: records are compared
  // by where they lie after the last one.
  AllocationTable table;
  table.insert(allocation(MemoryKind::Device, 0x1000, 1));  // record 0
  table.insert(allocation(MemoryKind::Device, 0x2000, 2));  // record 1
  table.erase(table.find(MemoryKind::Device, 0x1000));
  table.insert(allocation(MemoryKind::Device, 0x3000, 3));  // record 0 again
  CHECK(table.find(MemoryKind::Device, 0x3000) + 1 == table.find(MemoryKind::Device, 0x2000));
  table.erase(table.find(MemoryKind::Device, 0x2000));  // frees record 1
  table.erase(table.find(MemoryKind::Device, 0x3000));  // frees record 0, now on top
  table.insert(allocation(MemoryKind::Device, 0x4000, 4));
  table.insert(allocation(MemoryKind::Device, 0x5000, 5));
  table.insert(allocation(MemoryKind::Device, 0x6000, 6));  // a new record 2
  Allocation* d = table.find(MemoryKind::Device, 0x4000);
  Allocation* e = table.find(MemoryKind::Device, 0x5000);
  Allocation* f = table.find(MemoryKind::Device, 0x6000);
  CHECK(e == d + 1);
  CHECK(f == d + 2);
  CHECK(d->size == 4);
  CHECK(e->size == 5);
  CHECK(f->size == 6);
  CHECK(table.find(MemoryKind::Device, 0x1000) == nullptr);
  CHECK(table.size() == 3);
}

// Whatever was inserted and erased, in a table that grows while runs wrap
// and are cut in the middle, each live allocation is found, and visited once.
TEST_CASE(
    "live set: inserts, erases and takes agree with a map, and for_each visits each live allocation once") {
  std::map<std::pair<trace::AddressSpace, uint64_t>, uint64_t> reference;  // key -> size
  AllocationTable table;
  std::mt19937_64 random(7);
  const MemoryKind kinds[] = {MemoryKind::Device, MemoryKind::PinnedHost, MemoryKind::VirtualPhysical};
  for (uint64_t step = 0; step < 100'000; ++step) {
    MemoryKind kind = kinds[random() % 3];
    uint64_t address = (random() % (200 + step / 20)) * 256;
    auto key = std::make_pair(trace::address_space(kind), address);
    auto expected = reference.find(key);
    Allocation* found = table.find(kind, address);
    REQUIRE((found != nullptr) == (expected != reference.end()));
    if (found != nullptr && random() % 3 != 0) {
      REQUIRE(found->size == expected->second);
      if (step % 2 == 0) {
        table.erase(found);
      } else {
        Allocation taken;
        REQUIRE(table.take(kind, address, taken));
        REQUIRE(taken.size == expected->second);
      }
      reference.erase(expected);
    } else {
      Allocation made = allocation(kind, address, step);
      REQUIRE(table.insert(made).second == reference.emplace(key, step).second);
    }
    if (step % 1000 == 0 || step == 99'999) {
      std::map<std::pair<trace::AddressSpace, uint64_t>, uint64_t> visited;
      table.for_each([&](const Allocation& a) {
        REQUIRE(visited.emplace(std::make_pair(trace::address_space(a.kind), a.address), a.size).second);
      });
      REQUIRE(visited == reference);
    }
  }
  CHECK(table.size() == reference.size());
}

TEST_CASE("live set: take copies out the allocation and erases it") {
  AllocationTable table;
  std::vector<uint64_t> at_end = addresses_at(63, 64, 2);
  Allocation first = allocation(MemoryKind::Device, at_end[0], 10);
  first.device = 3;
  first.serial = 7;
  table.insert(first);
  table.insert(allocation(MemoryKind::Device, at_end[1], 11));  // in slot 0, behind the first
  Allocation taken;
  CHECK_FALSE(table.take(MemoryKind::PinnedHost, at_end[0], taken));  // another address space
  CHECK(taken.size == 0);
  REQUIRE(table.take(MemoryKind::Managed, at_end[0], taken));
  CHECK(taken.kind == MemoryKind::Device);
  CHECK(taken.device == 3);
  CHECK(taken.size == 10);
  CHECK(taken.serial == 7);
  CHECK_FALSE(table.take(MemoryKind::Device, at_end[0], taken));
  CHECK(table.size() == 1);
  CHECK(sizes_in_slot_order(table) == std::vector<uint64_t>{11});  // back in slot 63, its home
  CHECK(table.find(MemoryKind::Device, at_end[1])->size == 11);
}
