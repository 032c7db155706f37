// Unit tests of the analysis passes on traces built by hand: peak, live at
// exit, failed allocations, kinds, threads, APIs and counts.
#include <doctest/doctest.h>

#include "analyzer/analysis.h"
#include "analyzer/budget.h"
#include "analyzer/cuda_errors.h"
#include "analyzer/live_stacks.h"
#include "trace_builder.h"

using namespace vramscope;
using trace::MemoryKind;
using vramscope::testing::TraceBuilder;

TEST_CASE("peak: bytes, first time, live count and sites at that moment") {
  TraceBuilder b;
  auto stack_a = b.stack({{"main", "train.py", 1}, {"make_a", "model.py", 10}});
  auto stack_b = b.stack({{"main", "train.py", 2}, {"make_b", "model.py", 20}});
  b.alloc(10, 0x1000, 100, stack_a);
  b.alloc(20, 0x2000, 200, stack_b);
  b.free(30, 0x1000);
  b.alloc(40, 0x3000, 150, stack_a);  // live 350: the peak, first reached here
  b.free(50, 0x3000);
  b.alloc(60, 0x4000, 150, stack_a);  // 350 again: not a new peak

  analysis::Report r = analysis::analyze_trace(b.trace);
  REQUIRE(r.devices.size() == 1);
  const analysis::DevicePeak& peak = r.devices[0].peak;
  CHECK(peak.bytes == 350);
  CHECK(peak.time_ns == 40);
  CHECK(peak.live_allocations == 2);
  REQUIRE(peak.sites.size() == 2);
  CHECK(peak.sites[0].site.function == "make_b");
  CHECK(peak.sites[0].site.file == "model.py");
  CHECK(peak.sites[0].site.line == 20);
  CHECK(peak.sites[0].bytes == 200);
  CHECK(peak.sites[0].count == 1);
  CHECK(peak.sites[1].site.function == "make_a");
  CHECK(peak.sites[1].bytes == 150);
  REQUIRE(peak.sites[1].stack.size() == 2);
  CHECK(peak.sites[1].stack[0].function == "make_a");  // innermost first
  CHECK(peak.sites[1].stack[1].function == "main");
  CHECK(r.devices[0].live_at_exit_bytes == 350);
  CHECK(r.counts.allocations == 4);
  CHECK(r.counts.frees == 2);
}

TEST_CASE("peak: stacks that share a site merge into one site row") {
  TraceBuilder b;
  auto via_train = b.stack({{"train", "train.py", 5}, {"alloc_buffer", "buffers.py", 7}});
  auto via_eval = b.stack({{"evaluate", "eval.py", 9}, {"alloc_buffer", "buffers.py", 7}});
  b.alloc(1, 0x10, 64, via_train);
  b.alloc(2, 0x20, 32, via_eval);
  b.alloc(3, 0x30, 16, via_train);

  analysis::Report r = analysis::analyze_trace(b.trace);
  REQUIRE(r.devices[0].peak.sites.size() == 1);
  const analysis::SiteBytes& site = r.devices[0].peak.sites[0];
  CHECK(site.site.function == "alloc_buffer");
  CHECK(site.bytes == 112);
  CHECK(site.count == 3);
  REQUIRE(site.stack.size() == 2);
  CHECK(site.stack[1].function == "train");  // the call path with the most bytes

  // Live at exit keeps the two call paths apart.
  REQUIRE(r.leaks.groups.size() == 2);
  CHECK(r.leaks.groups[0].bytes == 80);
  CHECK(r.leaks.groups[0].count == 2);
  CHECK(r.leaks.groups[0].stack[1].function == "train");
  CHECK(r.leaks.groups[1].bytes == 32);
  CHECK(r.leaks.groups[1].count == 1);
  CHECK(r.leaks.groups[1].stack[1].function == "evaluate");
  CHECK(r.leaks.groups[1].site.function == "alloc_buffer");
  CHECK(r.leaks.bytes == 112);
  CHECK(r.leaks.count == 3);
}

TEST_CASE("peak: call paths with ids no node defines are counted as well") {
  // A damaged trace may name stack ids no node defines, as large as 2^32 - 1.
  TraceBuilder b;
  auto known = b.stack({{"main", "train.py", 1}, {"make_a", "model.py", 10}});
  b.alloc(1, 0x1000, 100, known);
  b.alloc(2, 0x2000, 300, trace::StackId{0xfffffff0});
  b.alloc(3, 0x3000, 200, trace::StackId{5000000});
  b.free(4, 0x2000);
  b.alloc(5, 0x4000, 50, trace::StackId{0xfffffff0});  // peak: 600, first reached at 3

  analysis::Report r = analysis::analyze_trace(b.trace);
  const analysis::DevicePeak& peak = r.devices[0].peak;
  CHECK(peak.bytes == 600);
  CHECK(peak.time_ns == 3);
  uint64_t site_bytes = 0;
  uint64_t site_count = 0;
  for (const analysis::SiteBytes& site : peak.sites) {
    site_bytes += site.bytes;
    site_count += site.count;
  }
  CHECK(site_bytes == 600);
  CHECK(site_count == 3);
  REQUIRE(!peak.sites.empty());
  CHECK(peak.sites[0].bytes == 500);  // both unknown call paths share the empty site
  CHECK(peak.sites[0].site.function == "<no stack>");
}

TEST_CASE("peak: what was live on each device at its own peak, by call path") {
  TraceBuilder b;
  auto weights = b.stack({{"main", "train.py", 1}, {"load_weights", "model.py", 4}});
  auto scratch = b.stack({{"main", "train.py", 1}, {"scratch", "model.py", 9}});
  b.alloc(1, 0x1000, 100, weights);                                // 0: device 0 at 100
  b.alloc(2, 0x2000, 400, scratch);                                // 1: device 0 at 500, its peak
  b.alloc(3, 0x9000, 700, weights, trace::MemoryKind::Device, 1);  // 2: device 1 at 700
  b.free(4, 0x2000);                                               // 3: device 0 at 100
  b.alloc(5, 0x3000, 300, scratch);                                // 4: device 0 at 400
  b.alloc(6, 0x9100, 50, scratch, trace::MemoryKind::Device, 1);   // 5: device 1 at 750, its peak
  b.alloc(7, 0x5000, 64, weights, trace::MemoryKind::PinnedHost);  // 6: not device memory
  b.free(8, 0x9100, trace::MemoryKind::Device, 1);                 // 7
  b.alloc(9, 0x9200, 10, scratch, trace::MemoryKind::Device, 1);   // 8: after both peaks

  analysis::Report r = analysis::analyze_trace(b.trace);
  REQUIRE(r.devices.size() == 2);
  const analysis::DevicePeak& p0 = r.devices[0].peak;
  CHECK(p0.bytes == 500);
  REQUIRE(p0.sites.size() == 2);
  CHECK(p0.sites[0].site.function == "scratch");  // the 400 freed right after the peak was live at it
  CHECK(p0.sites[0].bytes == 400);
  CHECK(p0.sites[1].site.function == "load_weights");
  CHECK(p0.sites[1].bytes == 100);
  const analysis::DevicePeak& p1 = r.devices[1].peak;
  CHECK(p1.bytes == 750);
  REQUIRE(p1.sites.size() == 2);
  CHECK(p1.sites[0].site.function == "load_weights");
  CHECK(p1.sites[0].bytes == 700);
  CHECK(p1.sites[1].site.function == "scratch");  // the 50 made at the peak, not the 10 after it
  CHECK(p1.sites[1].bytes == 50);
  CHECK(p1.sites[1].count == 1);
}

TEST_CASE("live at exit: grouped per kind and stack, headline counts device, managed and pinned host") {
  TraceBuilder b;
  auto s = b.stack({{"leaky", "leak.py", 3}});
  b.alloc(1, 0x100, 1000, s);
  b.alloc(2, 0x200, 1000, s);
  b.alloc(3, 0x300, 7, s);
  b.free(4, 0x300);
  b.alloc(5, 0x100, 50, s, MemoryKind::PinnedHost);
  b.alloc(6, 0x500, 20, s, MemoryKind::Managed);
  b.alloc(7, 0x7000, 1 << 20, s, MemoryKind::VirtualReserve);  // an address range: not memory
  b.alloc(8, 0x1, 4096, s, MemoryKind::VirtualPhysical);
  b.alloc(9, 0x7000, 4096, s, MemoryKind::VirtualMap);  // maps the handle above: counted once

  analysis::Report r = analysis::analyze_trace(b.trace);
  CHECK(r.leaks.bytes == 2000 + 50 + 20 + 4096);
  CHECK(r.leaks.count == 5);
  REQUIRE(r.leaks.groups.size() == 6);
  // Memory first, by bytes; then the address range and the mapping, though larger.
  CHECK(r.leaks.groups[0].kind == MemoryKind::VirtualPhysical);
  CHECK(r.leaks.groups[1].kind == MemoryKind::Device);
  CHECK(r.leaks.groups[1].bytes == 2000);
  CHECK(r.leaks.groups[1].count == 2);
  CHECK(r.leaks.groups[1].site.function == "leaky");
  CHECK(r.leaks.groups[2].kind == MemoryKind::PinnedHost);
  CHECK(r.leaks.groups[3].kind == MemoryKind::Managed);
  CHECK(r.leaks.groups[4].kind == MemoryKind::VirtualReserve);
  CHECK(r.leaks.groups[4].bytes == (1 << 20));
  CHECK(r.leaks.groups[5].kind == MemoryKind::VirtualMap);
  CHECK(r.devices[0].live_at_exit_bytes == 2000 + 4096);
  CHECK(r.devices[0].peak.bytes == 2000 + 4096 + 0);
}

TEST_CASE("a free of an unknown address is counted and otherwise ignored") {
  TraceBuilder b;
  b.alloc(1, 0x1000, 10);
  b.free(2, 0x9999);
  b.free(3, 0x1000, MemoryKind::PinnedHost);  // same address, other kind: unknown too

  analysis::Report r = analysis::analyze_trace(b.trace);
  CHECK(r.counts.unmatched_frees == 2);
  CHECK(r.counts.frees == 0);
  CHECK(r.leaks.bytes == 10);
  CHECK(r.devices[0].live_at_exit_bytes == 10);
}

TEST_CASE("a free takes its size from the allocation it matches") {
  TraceBuilder b;
  b.alloc(1, 0x1000, 300);
  b.free(2, 0x1000).size = 0;
  b.alloc(3, 0x2000, 100);

  analysis::Report r = analysis::analyze_trace(b.trace);
  CHECK(r.devices[0].peak.bytes == 300);
  CHECK(r.devices[0].peak.time_ns == 1);
  CHECK(r.devices[0].live_at_exit_bytes == 100);
  REQUIRE(r.kinds.size() == 1);
  CHECK(r.kinds[0].allocations == 2);
  CHECK(r.kinds[0].frees == 1);
  CHECK(r.kinds[0].allocated_bytes == 400);
  CHECK(r.kinds[0].peak_bytes == 300);
  CHECK(r.kinds[0].live_at_exit_bytes == 100);
  CHECK(r.kinds[0].live_at_exit_count == 1);
}

TEST_CASE("kinds are separate address spaces, and the peak ignores pinned host memory") {
  TraceBuilder b;
  b.alloc(1, 0x1000, 100);
  b.alloc(2, 0x1000, 5000, {}, MemoryKind::PinnedHost);
  b.free(3, 0x1000);  // frees the device allocation only
  b.alloc(4, 0x2000, 40);

  analysis::Report r = analysis::analyze_trace(b.trace);
  CHECK(r.counts.missing_frees == 0);
  CHECK(r.devices[0].peak.bytes == 100);
  CHECK(r.devices[0].peak.time_ns == 1);
  CHECK(r.devices[0].peak.live_allocations == 1);
  REQUIRE(r.kinds.size() == 2);
  CHECK(r.kinds[0].kind == MemoryKind::Device);
  CHECK(r.kinds[0].frees == 1);
  CHECK(r.kinds[1].kind == MemoryKind::PinnedHost);
  CHECK(r.kinds[1].frees == 0);
  CHECK(r.kinds[1].live_at_exit_bytes == 5000);
  CHECK(r.leaks.bytes == 5040);
}

TEST_CASE("devices are separate: each has its own peak") {
  TraceBuilder b;
  b.device(0, "gpu zero", 1000);
  b.device(1, "gpu one", 2000);
  // Unified addressing: every device's pointers lie in a range of their own.
  b.alloc(1, 0x1000, 100, {}, MemoryKind::Device, 0);
  b.alloc(2, 0x9000, 700, {}, MemoryKind::AsyncPool, 1);
  b.alloc(3, 0xa000, 200, {}, MemoryKind::Device, 1);
  b.free(4, 0x9000, MemoryKind::AsyncPool, 1);
  b.alloc(5, 0x3000, 50, {}, MemoryKind::Device, 0);

  analysis::Report r = analysis::analyze_trace(b.trace);
  REQUIRE(r.devices.size() == 2);
  CHECK(r.devices[0].name == "gpu zero");
  CHECK(r.devices[0].peak.bytes == 150);
  CHECK(r.devices[0].peak.time_ns == 5);
  CHECK(r.devices[1].total_bytes == 2000);
  CHECK(r.devices[1].peak.bytes == 900);
  CHECK(r.devices[1].peak.time_ns == 3);
  CHECK(r.devices[1].peak.live_allocations == 2);
  CHECK(r.devices[1].peak.sites.size() == 1);  // both stack-less
  CHECK(r.devices[1].peak.sites[0].site.function == "<no stack>");
  CHECK(r.devices[1].live_at_exit_bytes == 200);
}

TEST_CASE("an allocation at a still-live address replaces it and counts a missing free") {
  TraceBuilder b;
  b.alloc(1, 0x1000, 100);
  b.alloc(2, 0x1000, 30);

  analysis::Report r = analysis::analyze_trace(b.trace);
  CHECK(r.counts.missing_frees == 1);
  CHECK(r.devices[0].peak.bytes == 100);
  CHECK(r.devices[0].live_at_exit_bytes == 30);
  CHECK(r.leaks.count == 1);
}

TEST_CASE("failed allocations keep their figures and this process's live bytes") {
  TraceBuilder b;
  auto s = b.stack({{"main", "train.py", 1}, {"grow", "train.py", 44}});
  b.alloc(1, 0x1000, 300);
  trace::Event& failed = b.add(trace::EventType::FailedAlloc, 2'000'000'000);
  failed.size = uint64_t{1} << 30;
  failed.error = 2;
  failed.free_bytes = 100;
  failed.total_bytes = 1000;
  failed.api = trace::Api::cuMemAlloc;
  failed.via = trace::Api::cudaMalloc;
  failed.stack = s;
  failed.thread = trace::ThreadIndex{1};

  analysis::Report r = analysis::analyze_trace(b.trace);
  CHECK(r.counts.failed_allocations == 1);
  REQUIRE(r.failed_allocations.size() == 1);
  const analysis::FailedAllocation& f = r.failed_allocations[0];
  CHECK(f.time_ns == 2'000'000'000);
  CHECK(f.requested_bytes == uint64_t{1} << 30);
  CHECK(f.error == 2);
  CHECK(f.error_name == "CUDA_ERROR_OUT_OF_MEMORY");
  CHECK(f.free_bytes == 100);
  CHECK(f.total_bytes == 1000);
  CHECK(f.live_bytes == 300);
  CHECK(f.api == trace::Api::cuMemAlloc);
  CHECK(f.via == trace::Api::cudaMalloc);
  CHECK(f.site.function == "grow");
  CHECK(f.site.line == 44);
  CHECK(f.stack.size() == 2);
  CHECK(r.devices[0].peak.bytes == 300);  // a failure allocates nothing
  REQUIRE(r.kinds.size() == 1);
  CHECK(r.kinds[0].allocations == 1);
}

TEST_CASE("error names: known codes by name, others by number") {
  CHECK(analysis::cuda_error_name(2) == "CUDA_ERROR_OUT_OF_MEMORY");
  CHECK(analysis::cuda_error_name(1) == "CUDA_ERROR_INVALID_VALUE");
  CHECK(analysis::cuda_error_name(4242) == "CUresult 4242");
}

TEST_CASE("threads, API pairs, markers and forks are counted") {
  TraceBuilder b;
  b.trace.threads = {{trace::ThreadIndex{1}, 111, "main"}, {trace::ThreadIndex{2}, 222, "loader"}};
  b.alloc(1, 0x10, 8).thread = trace::ThreadIndex{1};
  b.alloc(2, 0x20, 16).thread = trace::ThreadIndex{2};
  trace::Event& via = b.alloc(3, 0x30, 32);
  via.thread = trace::ThreadIndex{2};
  via.via = trace::Api::cudaMalloc;
  b.free(4, 0x20).thread = trace::ThreadIndex{1};
  b.add(trace::EventType::Marker, 5);
  b.add(trace::EventType::Fork, 6).child_pid = 4321;
  b.add(trace::EventType::FailedAlloc, 7).thread = trace::ThreadIndex{2};

  analysis::Report r = analysis::analyze_trace(b.trace);
  REQUIRE(r.threads.size() == 2);
  CHECK(r.threads[0].index == 1);
  CHECK(r.threads[0].os_tid == 111);
  CHECK(r.threads[0].name == "main");
  CHECK(r.threads[0].allocations == 1);
  CHECK(r.threads[0].frees == 1);
  CHECK(r.threads[0].allocated_bytes == 8);
  CHECK(r.threads[1].allocations == 2);
  CHECK(r.threads[1].allocated_bytes == 48);
  CHECK(r.threads[1].failed_allocations == 1);

  REQUIRE(r.apis.size() == 3);
  CHECK(r.apis[0].api == trace::Api::cuMemAlloc);
  CHECK(r.apis[0].via == trace::Api::None);
  CHECK(r.apis[0].count == 2);
  CHECK(r.apis[1].api == trace::Api::cuMemAlloc);
  CHECK(r.apis[1].via == trace::Api::cudaMalloc);
  CHECK(r.apis[1].count == 1);
  CHECK(r.apis[2].api == trace::Api::cuMemFree);

  CHECK(r.counts.events == 7);
  CHECK(r.counts.markers == 1);
  CHECK(r.counts.forks == 1);
  REQUIRE(r.forks.size() == 1);
  CHECK(r.forks[0].time_ns == 6);
  CHECK(r.forks[0].child_pid == 4321);
}

TEST_CASE("an empty trace gives zeros and no crash") {
  TraceBuilder b;
  b.device(0, "vramscope simcuda", 1 << 30, true);
  analysis::Report r = analysis::analyze_trace(b.trace);
  REQUIRE(r.devices.size() == 1);
  CHECK(r.devices[0].simulated);
  CHECK(r.devices[0].peak.bytes == 0);
  CHECK(r.devices[0].peak.time_ns == 0);
  CHECK(r.devices[0].peak.sites.empty());
  CHECK(r.counts.events == 0);
  CHECK(r.leaks.bytes == 0);
  CHECK(r.leaks.groups.empty());
  CHECK(r.kinds.empty());
  CHECK(r.trace.duration_ns == 0);
  CHECK(r.trace.bytes_per_event == 0);

  analysis::Report bare = analysis::analyze_trace(TraceBuilder{}.trace);
  CHECK(bare.devices.empty());
}

TEST_CASE("a single allocation is the peak and the leak") {
  TraceBuilder b;
  b.trace.record_bytes = 90;
  b.trace.end = trace::End{500, trace::EndReason::Exit, 0};
  b.alloc(123, 0xabc, 4096);
  analysis::Report r = analysis::analyze_trace(b.trace);
  CHECK(r.devices.size() == 1);
  CHECK(r.devices[0].peak.bytes == 4096);
  CHECK(r.devices[0].peak.time_ns == 123);
  CHECK(r.devices[0].peak.live_allocations == 1);
  CHECK(r.leaks.bytes == 4096);
  CHECK(r.leaks.count == 1);
  CHECK(r.trace.duration_ns == 500);
  CHECK(r.trace.bytes_per_event == doctest::Approx(90.0));
}

TEST_CASE("memory pools have size 0 and still show up per kind") {
  TraceBuilder b;
  b.alloc(1, 0x77, 0, {}, MemoryKind::MemoryPool).api = trace::Api::cuMemPoolCreate;
  analysis::Report r = analysis::analyze_trace(b.trace);
  REQUIRE(r.kinds.size() == 1);
  CHECK(r.kinds[0].kind == MemoryKind::MemoryPool);
  CHECK(r.kinds[0].live_at_exit_count == 1);
  CHECK(r.leaks.count == 0);  // a pool object is not leaked memory
  REQUIRE(r.leaks.groups.size() == 1);
  CHECK(r.devices.empty());
}

TEST_CASE("API counts: each (api, via) pair once, a byte no writer makes too, by count then api and via") {
  TraceBuilder b;
  const auto odd = static_cast<trace::Api>(255);
  trace::Event& first = b.alloc(1, 0x10, 8);
  first.api = odd;
  first.via = static_cast<trace::Api>(7);
  b.free(2, 0x10);
  for (uint64_t i = 0; i < 3; ++i) b.alloc(3 + i, 0x100 + i, 8).via = trace::Api::cudaMalloc;
  b.alloc(6, 0x20, 8).api = odd;

  const analysis::Report r = analysis::analyze_trace(b.trace);
  REQUIRE(r.apis.size() == 4);
  CHECK(r.apis[0].api == trace::Api::cuMemAlloc);
  CHECK(r.apis[0].via == trace::Api::cudaMalloc);
  CHECK(r.apis[0].count == 3);
  CHECK(r.apis[1].api == trace::Api::cuMemFree);
  CHECK(r.apis[1].via == trace::Api::None);
  CHECK(r.apis[2].api == odd);
  CHECK(r.apis[2].via == trace::Api::None);
  CHECK(r.apis[3].api == odd);
  CHECK(r.apis[3].via == static_cast<trace::Api>(7));
  for (size_t i = 1; i < 4; ++i) CHECK(r.apis[i].count == 1);
}

TEST_CASE("live at exit: an allocator's cached segment that ends at the top of the address space") {
  // Its end, start + size, is 2^64 (0 in 64 bits): the rule found a block
  // that ends below it outside the segment, and did not count it.
  constexpr uint64_t MiB = 1 << 20, start = UINT64_MAX - 4 * MiB + 1;
  TraceBuilder b;
  b.device(0, "gpu", 1024 * MiB);
  b.alloc(1, start, 4 * MiB);
  b.alloc(2, start, 4 * MiB, {}, trace::MemoryKind::Heap);
  b.alloc(3, start + 2 * MiB, 1 * MiB, {}, trace::MemoryKind::Block).stream = start;
  const analysis::Report r = analysis::analyze_trace(b.trace);
  CHECK(r.leaks.bytes == 1 * MiB);
  CHECK(r.leaks.count == 1);
  REQUIRE(!r.leaks.groups.empty());
  CHECK(r.leaks.groups[0].kind == trace::MemoryKind::Block);
  CHECK(r.leaks.groups[0].counted);
}

TEST_CASE("live at exit: an allocator's cached segments do not count, the blocks live in them do") {
  // An allocator's segment with its heap over it, a block still live in it
  // and one freed; a segment the job took itself; a heap over no segment,
  // with a block; a cuMemCreate handle; pinned host memory.
  constexpr uint64_t MiB = 1 << 20;
  TraceBuilder b;
  b.device(0, "gpu", 1024 * MiB);
  auto allocator = b.stack({{"main", "train.py", 1}, {"segment", "alloc.py", 5}});
  auto tensor = b.stack({{"main", "train.py", 1}, {"make_tensor", "train.py", 20}});
  auto own = b.stack({{"main", "train.py", 1}, {"nccl_buffer", "comm.py", 9}});
  b.alloc(1, 0x1000000, 4 * MiB, allocator);
  b.alloc(2, 0x1000000, 4 * MiB, allocator, trace::MemoryKind::Heap);
  b.alloc(3, 0x1000000, 1 * MiB, tensor, trace::MemoryKind::Block).stream = 0x1000000;
  b.alloc(4, 0x1100000, 1 * MiB, tensor, trace::MemoryKind::Block).stream = 0x1000000;
  b.free(5, 0x1100000, trace::MemoryKind::Block);
  b.alloc(6, 0x9000000, 3 * MiB, own);
  b.alloc(7, 0x20000000, 8 * MiB, allocator, trace::MemoryKind::Heap);
  b.alloc(8, 0x20000000, 512 * 1024, tensor, trace::MemoryKind::Block).stream = 0x20000000;
  b.alloc(9, 0x7, 2 * MiB, own, trace::MemoryKind::VirtualPhysical);
  b.alloc(10, 0x7f0000000000, 1 * MiB, own, trace::MemoryKind::PinnedHost);

  const analysis::Report r = analysis::analyze_trace(b.trace);
  // The block (1), the job's own segment (3), the handle (2), pinned memory (1).
  CHECK(r.leaks.bytes == 7 * MiB);
  CHECK(r.leaks.count == 4);
  REQUIRE(r.leaks.groups.size() >= 5);
  CHECK(r.leaks.groups[0].site.function == "nccl_buffer");
  CHECK(r.leaks.groups[0].bytes == 3 * MiB);
  size_t counted = 0;
  for (const analysis::LeakGroup& g : r.leaks.groups) {
    counted += g.counted;
    CHECK(g.cached == (g.kind == trace::MemoryKind::Device && g.bytes == 4 * MiB));
    if (g.kind == trace::MemoryKind::Block) CHECK(g.counted == (g.bytes == 1 * MiB));
  }
  CHECK(counted == 4);
  for (size_t i = 0; i < r.leaks.groups.size(); ++i) CHECK(r.leaks.groups[i].counted == (i < 4));

  // The budget and the viewer's live-at-exit view count the same.
  analysis::Budgets budgets;
  budgets.max_leak = 6 * MiB;
  const std::vector<analysis::BudgetCheck> checks = analysis::check_budgets(r, budgets);
  REQUIRE(checks.size() == 1);
  CHECK(checks[0].value == 7 * MiB);
  CHECK_FALSE(checks[0].passed);
  CHECK(checks[0].site->function == "nccl_buffer");
  const auto at_exit = analysis::live_at_exit(b.trace);
  REQUIRE(at_exit.count(0) == 1);
  CHECK(at_exit.at(0).bytes == 7 * MiB);
  CHECK(at_exit.at(0).count == 4);
}
