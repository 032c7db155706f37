// The injector's stack prefix tree: one id per (parent, address), defined once.
#include <doctest/doctest.h>

#include <thread>
#include <vector>

#include "injector/stack_tree.h"

using vramscope::inject::StackTree;
using vramscope::trace::StackId;

TEST_CASE("a stack prefix tree gives shared prefixes one id and defines each node once") {
  StackTree tree;
  REQUIRE(tree.init(1024));
  std::vector<std::tuple<uint32_t, uint32_t, uint64_t>> defined;
  auto define = [&](StackId id, StackId parent, uint64_t ip) { defined.emplace_back(id.value, parent.value, ip); };
  // main -> train -> alloc, and main -> train -> free: the first two frames are shared.
  StackId main_node = tree.insert({}, 0x1000, define);
  StackId train = tree.insert(main_node, 0x2000, define);
  StackId alloc = tree.insert(train, 0x3000, define);
  StackId main_again = tree.insert({}, 0x1000, define);
  StackId train_again = tree.insert(main_again, 0x2000, define);
  StackId free_node = tree.insert(train_again, 0x4000, define);
  CHECK(main_node == StackId{1});
  CHECK(train == StackId{2});
  CHECK(alloc == StackId{3});
  CHECK(main_again == main_node);
  CHECK(train_again == train);
  CHECK(free_node == StackId{4});
  REQUIRE(defined.size() == 4);
  CHECK(defined[2] == std::make_tuple(3u, 2u, uint64_t{0x3000}));
  CHECK(defined[3] == std::make_tuple(4u, 2u, uint64_t{0x4000}));
  // The same address under another parent is another node.
  CHECK(tree.insert(alloc, 0x2000, define) == StackId{5});
  CHECK(tree.size() == 5);
}

TEST_CASE("a full stack tree refuses new nodes instead of failing") {
  StackTree tree;
  REQUIRE(tree.init(16));  // room for 12 nodes
  int defined = 0;
  auto define = [&](StackId, StackId, uint64_t) { ++defined; };
  StackId last{};
  for (uint64_t ip = 1; ip <= 20; ++ip) {
    StackId id = tree.insert({}, ip * 64, define);
    if (id.valid()) last = id;
  }
  CHECK(defined == 12);
  CHECK(last == StackId{12});
  CHECK_FALSE(tree.insert({}, 9999, define).valid());
  // Nodes already in stay found.
  CHECK(tree.insert({}, 64, define) == StackId{1});
}

TEST_CASE("threads inserting the same stacks agree on every id") {
  StackTree tree;
  REQUIRE(tree.init(1 << 16));
  std::atomic<int> definitions{0};
  std::vector<std::vector<uint32_t>> ids(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t stack = 0; stack < 500; ++stack) {
        StackId node{};
        for (uint64_t depth = 0; depth < 5; ++depth) {
          node = tree.insert(node, 0x1000 * (depth + 1) + stack % 50, [&](StackId, StackId, uint64_t) { ++definitions; });
        }
        ids[t].push_back(node.value);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 1; t < 4; ++t) CHECK(ids[t] == ids[0]);
  // 50 distinct stacks of 5 frames sharing nothing: 250 nodes, each defined once.
  CHECK(definitions.load() == 250);
  CHECK(tree.size() == 250);
}
