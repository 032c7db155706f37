// Unit tests of iteration detection (NVTX ranges, markers, the allocation
// pattern, none), categories and growth leaks, on traces built by hand.
#include <doctest/doctest.h>

#include <string>

#include "analyzer/analysis.h"
#include "analyzer/stack_resolver.h"
#include "trace_builder.h"
#include "training_loop.h"

using namespace vramscope;
using vramscope::testing::pop_range;
using vramscope::testing::push_range;
using vramscope::testing::TraceBuilder;
using vramscope::testing::training_loop;

namespace {

void marker(TraceBuilder& b, uint64_t t, const std::string& name) {
  b.add(trace::EventType::Marker, t).name = b.string(name);
}

const analysis::CategoryTotals& total(const analysis::Report& r, const std::string& category) {
  for (const analysis::CategoryTotals& t : r.categories.totals) {
    if (t.category == category) return t;
  }
  FAIL("no category " << category);
  return r.categories.totals.front();
}

}  // namespace

TEST_CASE("iterations: the most frequent outermost NVTX range, nested ranges ignored") {
  TraceBuilder b;
  push_range(b, 1, "setup");
  pop_range(b, 2);
  for (uint64_t k = 0; k < 3; ++k) {
    push_range(b, 10 + 10 * k, "step");
    push_range(b, 11 + 10 * k, "forward");  // nested: not an iteration
    pop_range(b, 12 + 10 * k);
    push_range(b, 13 + 10 * k, "forward");
    pop_range(b, 14 + 10 * k);
    pop_range(b, 15 + 10 * k);
  }
  analysis::Report r = analysis::analyze_trace(b.trace);
  CHECK(r.iterations.method == "nvtx range 'step'");
  REQUIRE(r.iterations.list.size() == 3);
  CHECK(r.iterations.list[0].start_ns == 10);
  CHECK(r.iterations.list[0].end_ns == 15);
  CHECK(r.iterations.list[2].start_ns == 30);
  CHECK(r.iterations.list[2].end_ns == 35);
}

TEST_CASE("iterations: between repeated markers when there are no ranges") {
  TraceBuilder b;
  marker(b, 5, "checkpoint");
  for (uint64_t k = 0; k < 4; ++k) marker(b, 10 + 10 * k, "iteration");
  analysis::Report r = analysis::analyze_trace(b.trace);
  CHECK(r.iterations.method == "marker 'iteration'");
  REQUIRE(r.iterations.list.size() == 3);  // 4 boundaries
  CHECK(r.iterations.list[0].start_ns == 10);
  CHECK(r.iterations.list[0].end_ns == 20);
  CHECK(r.iterations.list[2].end_ns == 40);
}

TEST_CASE("iterations from the allocation pattern, and a growth leak across them") {
  TraceBuilder b;
  auto setup = b.stack({{"setup", "s.py", 1}});
  auto workspace = b.stack({{"allocate_workspace", "w.py", 1}});
  auto cache = b.stack({{"cache_stats", "c.py", 1}});
  uint64_t t = 0;
  b.alloc(++t, 0x10, 64, setup);
  for (uint64_t k = 0; k < 5; ++k) {
    b.alloc(++t, 0x1000, 4096, workspace);
    b.alloc(++t, 0x10000 + k * 0x1000, 1024, cache);
    b.free(++t, 0x1000);
  }
  analysis::Report r = analysis::analyze_trace(b.trace);
  CHECK(r.iterations.method == "repeating pattern");
  REQUIRE(r.iterations.list.size() == 5);
  CHECK(r.iterations.list[0].start_ns == 2);  // the first workspace allocation
  CHECK(r.iterations.list[0].end_ns == 4);
  CHECK(r.iterations.list[4].start_ns == 14);
  CHECK(r.iterations.list[4].end_ns == 16);

  REQUIRE(r.growth_leaks.size() == 1);
  const analysis::GrowthLeak& g = r.growth_leaks[0];
  CHECK(g.site.function == "cache_stats");
  CHECK(g.bytes_per_iteration == 1024);
  CHECK(g.iterations == 5);
  CHECK(g.live_bytes_at_last_iteration == 5 * 1024);
  CHECK(total(r, "workspaces").peak_bytes == 4096);
  CHECK(total(r, "parameters").peak_bytes == 64);  // made before the iterations, kept through them
  CHECK(total(r, "unknown").allocated_bytes == 5 * 1024);  // the growing cache: no state, it grows
}

TEST_CASE("iterations: none without ranges, markers or a repeat; categories by name only, low") {
  TraceBuilder b;
  auto grads = b.stack({{"make_gradients", "m.py", 1}});
  auto other = b.stack({{"other", "m.py", 2}});
  b.alloc(1, 0x10, 100, grads);
  b.alloc(2, 0x20, 200, other);
  b.alloc(3, 0x30, 300, other);
  analysis::Report r = analysis::analyze_trace(b.trace);
  CHECK(r.iterations.method == "none");
  CHECK(r.iterations.list.empty());
  CHECK(r.growth_leaks.empty());
  CHECK(r.categories.source == "device memory");
  CHECK(total(r, "gradients").peak_bytes == 100);
  CHECK(total(r, "gradients").confidence == "low");
  CHECK(total(r, "unknown").peak_bytes == 500);
}

TEST_CASE("categories of a training loop: exact bytes per category, at the peak and over the run") {
  TraceBuilder b = training_loop(3);
  analysis::Report r = analysis::analyze_trace(b.trace);
  CHECK(r.iterations.method == "nvtx range 'step'");
  CHECK(r.iterations.list.size() == 3);
  CHECK(r.categories.source == "device memory");
  REQUIRE(r.categories.totals.size() == 8);
  CHECK(total(r, "parameters").peak_bytes == 200);
  CHECK(total(r, "parameters").confidence == "high");  // the name says weights
  CHECK(total(r, "gradients").peak_bytes == 200);
  CHECK(total(r, "gradients").confidence == "medium");  // only the name tells them from parameters
  CHECK(total(r, "optimizer state").peak_bytes == 200);
  CHECK(total(r, "optimizer state").allocations == 2);
  CHECK(total(r, "inputs").peak_bytes == 10);
  CHECK(total(r, "inputs").allocations == 3);
  CHECK(total(r, "activations").peak_bytes == 40);
  CHECK(total(r, "activations").allocations == 6);
  CHECK(total(r, "temporaries").peak_bytes == 5);
  CHECK(total(r, "temporaries").confidence == "high");
  CHECK(total(r, "workspaces").peak_bytes == 7);
  CHECK(total(r, "unknown").allocations == 0);
  CHECK(r.growth_leaks.empty());

  // The peak: step 2's workspace (step 1 has no state yet while its tensors are live).
  REQUIRE(r.devices.size() == 1);
  const analysis::DevicePeak& peak = r.devices[0].peak;
  CHECK(peak.bytes == 600 + 10 + 40 + 7);
  uint64_t sum = 0;
  for (const analysis::CategoryBytes& c : peak.categories) sum += c.bytes;
  CHECK(sum == peak.bytes);
  REQUIRE(peak.categories.size() == 6);
  CHECK(peak.categories[3].category == "activations");
  CHECK(peak.categories[3].bytes == 40);
  for (const analysis::SiteBytes& s : peak.sites) {
    if (s.site.function == "opt_step") CHECK(s.category == "optimizer state");
    if (s.site.function == "make_gradients") CHECK(s.category == "gradients");
    if (s.site.function == "make_gradients") CHECK(s.confidence == "medium");
  }
}

TEST_CASE("categories: tensor blocks are categorized, the segments around them are not") {
  TraceBuilder b;
  auto segment = b.stack({{"allocator", "a.py", 1}});
  auto params = b.stack({{"init_params", "m.py", 1}});
  b.alloc(1, 0x100000, 4096, segment);
  b.alloc(2, 0x100000, 100, params, trace::MemoryKind::Block);
  for (uint64_t k = 0; k < 2; ++k) {
    push_range(b, 10 + 10 * k, "step");
    pop_range(b, 11 + 10 * k);
  }
  analysis::Report r = analysis::analyze_trace(b.trace);
  CHECK(r.categories.source == "tensor blocks");
  CHECK(total(r, "parameters").peak_bytes == 100);
  CHECK(total(r, "parameters").allocations == 1);
  CHECK(total(r, "unknown").allocations == 0);
  REQUIRE(r.devices.size() == 1);
  CHECK(r.devices[0].peak.sites.at(0).category.empty());  // a segment
}

TEST_CASE("growth leaks need 3 iterations and a climb at every end from the 2nd on") {
  // Growing in only 2 of 3 ends, or with only 2 iterations: no growth leak.
  TraceBuilder b;
  auto cache = b.stack({{"cache", "c.py", 1}});
  uint64_t t = 0;
  for (uint64_t k = 0; k < 3; ++k) {
    push_range(b, ++t, "step");
    if (k != 2) b.alloc(++t, 0x1000 + k * 0x100, 64, cache);
    pop_range(b, ++t);
  }
  CHECK(analysis::analyze_trace(b.trace).growth_leaks.empty());
  CHECK(analysis::analyze_trace(training_loop(2).trace).growth_leaks.empty());
}

TEST_CASE("categories: a gradient made after the last activation free is told from optimizer state by name") {
  // The first layer's gradients come after its activations are freed, so
  // after the backward pass as the lifetimes see it: only the name tells
  // them from the optimizer state made next.
  TraceBuilder b;
  auto input = b.stack({{"main", "t.py", 4}, {"load", "d.py", 4}});
  auto forward = b.stack({{"main", "t.py", 1}, {"fwd", "m.py", 1}});
  auto grads = b.stack({{"main", "t.py", 2}, {"accumulate_grad", "autograd.py", 2}});
  auto state = b.stack({{"main", "t.py", 3}, {"optimizer_init_state", "o.py", 3}});
  uint64_t t = 0;
  for (int s = 1; s <= 2; ++s) {
    push_range(b, ++t, "step");
    b.alloc(++t, 0x1000, 10, input);
    b.alloc(++t, 0x2000, 20, forward);
    b.alloc(++t, 0x3000, 20, forward);
    b.alloc(++t, 0x4000, 5, forward);
    b.free(++t, 0x4000);
    b.free(++t, 0x3000);
    b.free(++t, 0x2000);  // the backward pass's last activation free
    b.free(++t, 0x1000);
    if (s == 1) {
      b.alloc(++t, 0x100, 100, grads);
      b.alloc(++t, 0x200, 300, state);
    }
    pop_range(b, ++t);
  }

  analysis::Report r = analysis::analyze_trace(b.trace);
  REQUIRE(r.categories.totals.size() == 8);
  CHECK(total(r, "gradients").peak_bytes == 100);
  CHECK(total(r, "gradients").allocations == 1);
  CHECK(total(r, "gradients").confidence == "medium");
  CHECK(total(r, "gradients").reason == "made in the first iteration and kept; its function's name says so");
  CHECK(total(r, "optimizer state").peak_bytes == 300);
  CHECK(total(r, "optimizer state").confidence == "high");  // the order and the name agree
  CHECK(total(r, "optimizer state").reason ==
        "made in the first iteration after its backward pass, and kept");
  CHECK(total(r, "activations").allocations == 4);
  CHECK(total(r, "inputs").allocations == 2);
}

TEST_CASE("categories: first-iteration state, told from a call path that keeps memory later") {
  // setup_once allocates only in the first iteration (no search needed);
  // make_buffer allocates again later, but only temporaries (searched, not
  // found: still state); cache_stats keeps memory in every iteration (found:
  // no state, and a growth leak).
  TraceBuilder b;
  auto input = b.stack({{"main", "t.py", 1}, {"load", "d.py", 1}});
  auto forward = b.stack({{"main", "t.py", 2}, {"fwd", "m.py", 2}});
  auto once = b.stack({{"main", "t.py", 3}, {"setup_once", "s.py", 3}});
  auto shared = b.stack({{"main", "t.py", 4}, {"make_buffer", "s.py", 4}});
  auto cache = b.stack({{"main", "t.py", 5}, {"cache_stats", "c.py", 5}});
  uint64_t t = 0;
  for (uint64_t s = 1; s <= 3; ++s) {
    push_range(b, ++t, "step");
    b.alloc(++t, 0x1000, 10, input);
    b.alloc(++t, 0x2000, 20, forward);
    b.alloc(++t, 0x3000, 5, forward);
    b.free(++t, 0x3000);
    b.free(++t, 0x2000);
    b.free(++t, 0x1000);
    if (s == 1) {
      b.alloc(++t, 0x100, 100, shared);
      b.alloc(++t, 0x200, 300, cache);
      b.alloc(++t, 0x300, 50, once);
    } else {
      b.alloc(++t, 0x400, 7, shared);
      b.free(++t, 0x400);
      b.alloc(++t, 0x500 + s * 0x10, 30, cache);
    }
    pop_range(b, ++t);
  }

  analysis::Report r = analysis::analyze_trace(b.trace);
  REQUIRE(r.iterations.list.size() == 3);
  CHECK(total(r, "optimizer state").allocations == 2);  // setup_once's and make_buffer's
  CHECK(total(r, "optimizer state").allocated_bytes == 150);
  CHECK(total(r, "optimizer state").peak_bytes == 150);
  CHECK(total(r, "optimizer state").confidence == "medium");
  CHECK(total(r, "optimizer state").reason ==
        "made in the first iteration after its backward pass, and kept");
  CHECK(total(r, "unknown").allocations == 3);  // cache_stats': 300, then 30 twice
  CHECK(total(r, "unknown").allocated_bytes == 360);
  CHECK(total(r, "unknown").peak_bytes == 360);
  CHECK(total(r, "unknown").reason == "kept from an iteration whose call path allocates again in later ones");
  CHECK(total(r, "temporaries").allocations == 5);  // 3 of fwd's, 2 of make_buffer's
  CHECK(total(r, "temporaries").allocated_bytes == 29);
  CHECK(total(r, "temporaries").peak_bytes == 7);
  // Only the first iteration frees its input last: in the others a
  // make_buffer temporary is, so their inputs count as activations.
  CHECK(total(r, "activations").allocated_bytes == 80);
  CHECK(total(r, "inputs").allocated_bytes == 10);
  CHECK(total(r, "gradients").allocations == 0);

  REQUIRE(r.growth_leaks.size() == 1);
  CHECK(r.growth_leaks[0].site.function == "cache_stats");
  CHECK(r.growth_leaks[0].bytes_per_iteration == 30);
  CHECK(r.growth_leaks[0].live_bytes_at_last_iteration == 360);
}

TEST_CASE("category peaks: frees held back under the peak are all taken off before a new one") {
  // 6,000 tensors of distinct sizes (no repeating pattern, so no
  // iterations), each freed after the next is made: 12,000 events under a
  // peak of 1,000,000 bytes, three turns of the ring of pending frees. The
  // last allocation makes a new peak with only the tensor before it live.
  TraceBuilder b;
  auto site = b.stack({{"other", "m.py", 1}});
  uint64_t t = 0;
  b.alloc(++t, 0x10, 1'000'000, site);
  b.free(++t, 0x10);
  for (uint64_t i = 0; i < 6000; ++i) {
    b.alloc(++t, 0x1000 + i, i + 1, site);
    if (i > 0) b.free(++t, 0x1000 + i - 1);
  }
  b.alloc(++t, 0x100000, 2'000'000, site);
  analysis::Report r = analysis::analyze_trace(b.trace);
  CHECK(r.iterations.list.empty());
  CHECK(total(r, "unknown").allocations == 6002);
  CHECK(total(r, "unknown").allocated_bytes == 3'000'000 + 6000 * 6001 / 2);
  CHECK(total(r, "unknown").peak_bytes == 2'000'000 + 6000);
}

TEST_CASE("categories: iterations of thousands of tensors, and more than a batch between them") {
  // Two steps of 3,000 temporaries each (sizes 1 to 3,000, each freed
  // before the next is made), with 5,000 tensors made between the steps.
  TraceBuilder b;
  auto temporary = b.stack({{"fwd", "m.py", 1}});
  auto between = b.stack({{"log_metrics", "m.py", 2}});
  uint64_t t = 0;
  for (uint64_t step = 0; step < 2; ++step) {
    push_range(b, ++t, "step");
    for (uint64_t i = 0; i < 3000; ++i) {
      b.alloc(++t, 0x1000, i + 1, temporary);
      b.free(++t, 0x1000);
    }
    pop_range(b, ++t);
    if (step != 0) continue;
    for (uint64_t i = 0; i < 5000; ++i) {
      b.alloc(++t, 0x2000, 7, between);
      b.free(++t, 0x2000);
    }
  }
  analysis::Report r = analysis::analyze_trace(b.trace);
  REQUIRE(r.iterations.list.size() == 2);
  CHECK(total(r, "temporaries").allocations == 6000);
  CHECK(total(r, "temporaries").allocated_bytes == 2 * (3000 * 3001 / 2));
  CHECK(total(r, "temporaries").peak_bytes == 3000);
  CHECK(total(r, "temporaries").confidence == "high");
  CHECK(total(r, "temporaries").reason == "freed before any other allocation was made");
  CHECK(total(r, "unknown").allocations == 5000);
  CHECK(total(r, "unknown").allocated_bytes == 5000 * 7);
  CHECK(total(r, "unknown").peak_bytes == 7);
  CHECK(total(r, "unknown").reason == "made outside the iterations");
}

TEST_CASE(
    "category peaks: a damaged trace whose sizes overflow the count gets the peak a tensor-by-tensor count "
    "gives") {
  // Two tensors of 2^63 bytes live at once wrap the live count to 0; once
  // it has wrapped, frees held back could hide a peak, so each tensor
  // takes them off first: the third tensor's peak is B's 2^63 plus its 5.
  TraceBuilder b;
  auto site = b.stack({{"other", "m.py", 1}});
  const uint64_t half = uint64_t{1} << 63;
  b.alloc(1, 0x1000, half, site);
  b.alloc(2, 0x2000, half, site);
  b.free(3, 0x1000);
  b.alloc(4, 0x3000, 5, site);
  analysis::Report r = analysis::analyze_trace(b.trace);
  CHECK(total(r, "unknown").allocations == 3);
  CHECK(total(r, "unknown").peak_bytes == half + 5);
}

TEST_CASE("categories: what cuBLAS, cuDNN or NCCL allocates is their workspace, whatever its lifetime") {
  TraceBuilder b;
  b.trace.modules = {
      {"/work/app/train", 0x400000, 0x401000, 0x402000, ""},
      {"/usr/local/cuda/lib64/libcublasLt.so.13", 0x7f1000000000, 0x7f1000000000, 0x7f1000100000, ""},
      {"/usr/lib/x86_64-linux-gnu/libnccl.so.2", 0x7f2000000000, 0x7f2000000000, 0x7f2000100000, ""},
      {"/usr/local/cuda/lib64/libcudart.so.13", 0x7f3000000000, 0x7f3000000000, 0x7f3000100000, ""},
  };
  // Outermost first: the program calls cuBLASLt (or NCCL), which calls cudaMalloc.
  auto gemm = b.native_stack({0x401100, 0x7f1000000100, 0x7f3000000100});
  auto all_reduce = b.native_stack({0x401200, 0x7f2000000200, 0x7f3000000100});
  auto weights = b.stack({{"init_weights", "m.py", 1}});
  auto batch = b.stack({{"load_batch", "m.py", 2}});
  b.alloc(1, 0x100000, 1000, weights);
  for (uint64_t k = 0; k < 3; ++k) {
    const uint64_t t = 10 + 10 * k;
    push_range(b, t, "step");
    b.alloc(t + 1, 0x200000 + k * 0x1000, 10, batch);
    // cuBLASLt's workspace, made in the first step and kept: by lifetime alone, state.
    if (k == 0) b.alloc(t + 2, 0x300000, 300, gemm);
    // NCCL's buffer, made and freed in each step: by lifetime alone, a temporary.
    b.alloc(t + 3, 0x400000, 50, all_reduce);
    b.free(t + 4, 0x400000);
    b.free(t + 5, 0x200000 + k * 0x1000);
    pop_range(b, t + 6);
  }
  analysis::Report r = analysis::analyze_trace(b.trace);
  CHECK(total(r, "workspaces").peak_bytes == 350);
  CHECK(total(r, "workspaces").allocations == 4);
  CHECK(total(r, "workspaces").confidence == "high");
  CHECK(total(r, "optimizer state").allocations == 0);
  CHECK(total(r, "temporaries").allocations == 0);
  CHECK(total(r, "parameters").allocations == 1);
  // The library is named in the reason: cuBLAS's 300 bytes are most of the 450 made.
  CHECK(total(r, "workspaces").allocated_bytes == 450);
  CHECK(total(r, "workspaces").reason == "made by cuBLAS for its own use");

  analysis::Stack through_nccl(2);
  through_nccl[0].module = "/usr/lib/x86_64-linux-gnu/libnccl.so.2";
  through_nccl[1].module = "/work/app/train";
  CHECK(analysis::workspace_library(through_nccl) == "NCCL");
  through_nccl[0].module = "/opt/cudnn/lib/libcudnn_engines_precompiled.so.9";
  CHECK(analysis::workspace_library(through_nccl) == "cuDNN");
  through_nccl[0].module = "libcublas.so.13";
  CHECK(analysis::workspace_library(through_nccl) == "cuBLAS");
  through_nccl[0].module = "/usr/local/cuda/lib64/libcudart.so.13";
  CHECK(analysis::workspace_library(through_nccl).empty());
}
