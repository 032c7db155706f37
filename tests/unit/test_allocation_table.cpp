// Unit tests of the flat table of live allocations, against std::map.
#include <doctest/doctest.h>

#include <map>
#include <random>
#include <utility>

#include "analyzer/allocation_table.h"

using namespace vramscope;
using analysis::Allocation;
using analysis::AllocationTable;

namespace {

Allocation allocation(trace::MemoryKind kind, uint32_t device, uint64_t address, uint64_t size) {
  Allocation a;
  a.kind = kind;
  a.device = device;
  a.address = address;
  a.size = size;
  return a;
}

}  // namespace

TEST_CASE("allocation table: address space and address make the key") {
  AllocationTable table;
  CHECK(table.find(trace::MemoryKind::Device, 0x1000) == nullptr);
  CHECK(table.insert(allocation(trace::MemoryKind::Device, 0, 0x1000, 10)).second);
  CHECK(table.insert(allocation(trace::MemoryKind::PinnedHost, 0, 0x1000, 20)).second);
  CHECK(table.insert(allocation(trace::MemoryKind::VirtualPhysical, 1, 0x1000, 30)).second);
  // Device pointers share one space, whatever the kind or device: cuMemFree frees any of them.
  auto [existing, inserted] = table.insert(allocation(trace::MemoryKind::AsyncPool, 1, 0x1000, 99));
  CHECK_FALSE(inserted);
  CHECK(existing->size == 10);
  CHECK(table.find(trace::MemoryKind::Managed, 0x1000)->size == 10);
  CHECK(table.size() == 3);
  table.erase(table.find(trace::MemoryKind::Device, 0x1000));
  CHECK(table.find(trace::MemoryKind::Device, 0x1000) == nullptr);
  CHECK(table.find(trace::MemoryKind::PinnedHost, 0x1000)->size == 20);
  CHECK(table.find(trace::MemoryKind::VirtualPhysical, 0x1000)->size == 30);
  CHECK(table.size() == 2);
}

TEST_CASE("allocation table: random inserts and erases agree with std::map") {
  AllocationTable table;
  std::map<std::pair<int, uint64_t>, uint64_t> reference;  // (address space, address)
  std::mt19937_64 random(12345);
  const trace::MemoryKind kinds[] = {trace::MemoryKind::Device, trace::MemoryKind::PinnedHost,
                                     trace::MemoryKind::VirtualPhysical};
  for (uint64_t step = 0; step < 200'000; ++step) {
    // Few distinct keys, so runs collide, wrap around and are erased from the middle.
    trace::MemoryKind kind = kinds[random() % 3];
    uint64_t address = (random() % 3000) * 4096;
    auto key = std::make_pair(static_cast<int>(trace::address_space(kind)), address);
    Allocation* found = table.find(kind, address);
    REQUIRE((found != nullptr) == reference.contains(key));
    if (found) {
      REQUIRE(found->size == reference[key]);
      table.erase(found);
      reference.erase(key);
    } else {
      REQUIRE(table.insert(allocation(kind, 0, address, step)).second);
      reference[key] = step;
    }
    REQUIRE(table.size() == reference.size());
  }
  size_t visited = 0;
  table.for_each([&](const Allocation& a) {
    ++visited;
    CHECK(reference.at({static_cast<int>(trace::address_space(a.kind)), a.address}) == a.size);
  });
  CHECK(visited == reference.size());
}
