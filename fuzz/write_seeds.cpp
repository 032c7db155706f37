// Writes the trace seeds no sample records (docs/fuzzing.md), into a folder:
//   nvtx_resize      an allocator's NVTX heaps with tensor blocks, one of them
//                    resized (nvtxMemRegionsResize: a free and an allocation
//                    at one address), then its heap unregistered;
//   vmm_unmap_range  three pages mapped into one reserved range, then one
//                    cuMemUnmap over all three.
// `scripts/fuzz.sh --coverage` showed the reader's code for both never run
// by the seeds or by 5.6 million executions of the trace target.
//   named_functions  three NVTX iterations of a job whose Python functions
//                    name what they make (grad, optim, workspace, input,
//                    batch), one a category as torch.profiler names it;
//   named_no_iterations  one allocation named so, and no iterations.
// The categories' rules for named functions were run by no seed and by no
// input the report target had kept.
//   every_byte       leaks and a peak at functions named with every byte:
//                    printable ASCII, control characters, each UTF-8 lead
//                    byte in a well-formed character, and bytes no UTF-8
//                    has; the command line too.
// The report target parses every JSON it prints, and the JSON parser has a
// branch for each byte a string holds: most of the edges its rounds still
// found were those, one character at a time.
//
// Shrink them with fuzz/shrink_trace.py before they go into fuzz/corpus/trace.
//
// usage: vramscope_write_seeds DIR
#include <cstdint>
#include <cstdio>
#include <exception>
#include <initializer_list>
#include <string>
#include <string_view>

#include "formats/trace_file_writer.h"

namespace {

using namespace vramscope::trace;

constexpr uint64_t kMiB = uint64_t{1} << 20;

Header header() {
  Header h;
  h.start_ns = 1'000'000;
  h.pid = 1;
  h.host = "seed";
  h.command_line = {"./seed"};
  return h;
}

AllocFields fields(uint64_t ticks, MemoryKind kind, Api api, uint64_t stream, uint64_t address,
                   uint64_t size) {
  return {.ticks = ticks, .kind = kind, .api = api, .stream = stream, .address = address, .size = size};
}

void write_nvtx_resize(const std::string& path) {
  constexpr uint64_t kSegment = 0x7f0000000000, kHeapA = kSegment, kHeapB = kSegment + 2 * kMiB;
  SimpleTraceWriter w(path, header());
  ChunkEncoder& e = w.encoder();
  e.device(DeviceInfo{0, "seed GPU", 64 * kMiB, true});
  e.alloc(fields(1'000'001, MemoryKind::Device, Api::cuMemAlloc, 0, kSegment, 4 * kMiB));
  e.alloc(fields(1'000'010, MemoryKind::Heap, Api::nvtxMemHeapRegister, kHeapA, kHeapA, 2 * kMiB));
  e.alloc(fields(1'000'011, MemoryKind::Heap, Api::nvtxMemHeapRegister, kHeapB, kHeapB, 2 * kMiB));
  e.alloc(fields(1'000'020, MemoryKind::Block, Api::nvtxMemRegionsRegister, kHeapA, kHeapA, 4096));
  e.alloc(fields(1'000'021, MemoryKind::Block, Api::nvtxMemRegionsRegister, kHeapA, kHeapA + 4096, 8192));
  e.alloc(fields(1'000'022, MemoryKind::Block, Api::nvtxMemRegionsRegister, kHeapB, kHeapB, 1024));
  // The resize: the free names the block, the allocation its new size; neither names the heap.
  e.free(fields(1'000'030, MemoryKind::Block, Api::nvtxMemRegionsResize, 0, kHeapA, 0));
  e.alloc(fields(1'000'031, MemoryKind::Block, Api::nvtxMemRegionsResize, 0, kHeapA, 65536));
  e.free(fields(1'000'040, MemoryKind::Block, Api::nvtxMemRegionsUnregister, 0, kHeapB, 0));
  e.free(fields(1'000'050, MemoryKind::Heap, Api::nvtxMemHeapUnregister, 0, kHeapA, 0));
  e.free(fields(1'000'060, MemoryKind::Device, Api::cuMemFree, 0, kSegment, 0));
  e.end(1'000'100, EndReason::Exit, 0, 1);
  w.finish();
}

void write_vmm_unmap_range(const std::string& path) {
  constexpr uint64_t kRange = 0x7e0000000000, kPage = 2 * kMiB;
  SimpleTraceWriter w(path, header());
  ChunkEncoder& e = w.encoder();
  e.device(DeviceInfo{0, "seed GPU", 64 * kMiB, true});
  e.alloc(fields(1'000'001, MemoryKind::VirtualReserve, Api::cuMemAddressReserve, 0, kRange, 8 * kPage));
  for (uint64_t i = 0; i < 3; ++i) {
    e.alloc(fields(1'000'010 + i, MemoryKind::VirtualPhysical, Api::cuMemCreate, 0, 0x10 + i, kPage));
    e.alloc(fields(1'000'020 + i, MemoryKind::VirtualMap, Api::cuMemMap, 0, kRange + i * kPage, kPage));
  }
  e.free(fields(1'000'030, MemoryKind::VirtualMap, Api::cuMemUnmap, 0, kRange, 3 * kPage));
  for (uint64_t i = 0; i < 3; ++i)
    e.free(fields(1'000'040 + i, MemoryKind::VirtualPhysical, Api::cuMemRelease, 0, 0x10 + i, 0));
  e.free(fields(1'000'050, MemoryKind::VirtualReserve, Api::cuMemAddressFree, 0, kRange, 8 * kPage));
  e.end(1'000'100, EndReason::Exit, 0, 1);
  w.finish();
}

// Writes strings, frames and one-frame stacks for `functions`, in train.py
// at lines 10, 20, ...; stack i + 1 is functions[i]'s.
void define_functions(ChunkEncoder& e, std::initializer_list<std::string_view> functions) {
  e.string(StringId{1}, "train.py");
  uint32_t id = 1;
  for (std::string_view function : functions) {
    e.string(StringId{id + 1}, function);
    e.frame(FrameId{id}, StringId{id + 1}, StringId{1}, id * 10);
    e.stack_frame_node(StackId{id}, StackId{}, FrameId{id});
    ++id;
  }
}

AllocFields on_stack(uint64_t ticks, uint64_t address, uint64_t size, uint32_t stack) {
  AllocFields f = fields(ticks, MemoryKind::Device, Api::cuMemAlloc, 0, address, size);
  f.stack = StackId{stack};
  return f;
}

void write_named_functions(const std::string& path) {
  enum : uint32_t {
    kWeights = 1,
    kGradBuffers,
    kBatch,
    kLabels,
    kForward,
    kWorkspace,
    kProfiled,
    kGradState
  };
  SimpleTraceWriter w(path, header());
  ChunkEncoder& e = w.encoder();
  e.device(DeviceInfo{0, "seed GPU", 64 * kMiB, true});
  define_functions(e, {"init_weights", "init_grad_buffers", "load_batch", "input_labels", "forward",
                       "get_workspace", "<torch memory timeline> activations", "make_grad_state"});
  e.string(StringId{100}, "step");
  uint64_t t = 1'000'000;
  e.alloc(on_stack(++t, 0x1000000, kMiB, kWeights));      // live through: parameters
  e.alloc(on_stack(++t, 0x2000000, kMiB, kGradBuffers));  // live through, named: gradients
  for (int step = 0; step < 3; ++step) {
    e.marker(layout::kRangePush, ++t, StringId{100});
    e.alloc(on_stack(++t, 0x3000000, 4096, kBatch));  // the first, freed last: inputs
    if (step == 0)
      e.alloc(on_stack(++t, 0x3100000, 4096, kLabels));   // freed after a later one, named: inputs
    e.alloc(on_stack(++t, 0x3200000, 8192, kForward));    // stack order: activations
    e.alloc(on_stack(++t, 0x3300000, 2048, kWorkspace));  // named: workspace
    e.free(on_stack(++t, 0x3300000, 0, kWorkspace));
    e.alloc(on_stack(++t, 0x3400000, 1024, kProfiled));  // named by the profiler
    e.free(on_stack(++t, 0x3400000, 0, kProfiled));
    e.free(on_stack(++t, 0x3200000, 0, kForward));
    if (step == 0) e.free(on_stack(++t, 0x3100000, 0, kLabels));
    e.free(on_stack(++t, 0x3000000, 0, kBatch));
    if (step == 0)
      e.alloc(on_stack(++t, 0x4000000, kMiB, kGradState));  // kept after backward, named otherwise
    e.marker(layout::kRangePop, ++t, StringId{100});
  }
  e.end(++t, EndReason::Exit, 0, 1);
  w.finish();
}

void write_named_no_iterations(const std::string& path) {
  SimpleTraceWriter w(path, header());
  ChunkEncoder& e = w.encoder();
  e.device(DeviceInfo{0, "seed GPU", 64 * kMiB, true});
  define_functions(e, {"init_weights"});
  e.alloc(on_stack(1'000'001, 0x1000000, kMiB, 1));
  e.end(1'000'100, EndReason::Exit, 0, 1);
  w.finish();
}

// Every byte but 0, in four names: what JSON escapes, what it writes as it
// is, UTF-8 well formed (each lead byte once) and ill formed.
std::string printable_ascii() {
  std::string s;
  for (int c = 0x20; c <= 0x7e; ++c) s.push_back(static_cast<char>(c));
  return s;
}

std::string control_characters() {
  std::string s;
  for (int c = 0x01; c <= 0x1f; ++c) s.push_back(static_cast<char>(c));
  s.push_back('\x7f');
  return s;
}

std::string utf8_lead_bytes() {
  std::string s;
  auto add = [&](std::initializer_list<int> bytes) {
    for (int b : bytes) s.push_back(static_cast<char>(b));
  };
  for (int lead = 0xc2; lead <= 0xdf; ++lead) add({lead, 0x80 + (lead & 0x3f)});
  add({0xe0, 0xa0, 0x80});
  for (int lead = 0xe1; lead <= 0xec; ++lead) add({lead, 0x80, 0xbf});
  add({0xed, 0x9f, 0xbf});
  add({0xee, 0x80, 0x80});
  add({0xef, 0xbf, 0xbd});
  add({0xf0, 0x90, 0x80, 0x80});
  for (int lead = 0xf1; lead <= 0xf3; ++lead) add({lead, 0x80, 0x80, 0x80});
  add({0xf4, 0x8f, 0xbf, 0xbf});
  return s;
}

std::string ill_formed_utf8() {
  std::string s;
  for (int c : {0x80, 0xbf, 0xc0, 0xc1}) s.push_back(static_cast<char>(c));
  for (int c = 0xf5; c <= 0xff; ++c) s.push_back(static_cast<char>(c));
  // Overlong, a surrogate, past U+10FFFF, and a character cut short.
  s += "\xe0\x80\x80\xed\xa0\x80\xf0\x80\x80\x80\xf4\x90\x80\x80\xc2";
  return s;
}

void write_every_byte(const std::string& path) {
  const std::string names[] = {printable_ascii(), control_characters(), utf8_lead_bytes(), ill_formed_utf8()};
  Header h = header();
  h.command_line = {"./seed", names[0], names[1], names[2], names[3]};
  SimpleTraceWriter w(path, h);
  ChunkEncoder& e = w.encoder();
  e.device(DeviceInfo{0, "seed GPU", 64 * kMiB, true});
  define_functions(e, {names[0], names[1], names[2], names[3]});
  // Each stack allocates twice: once freed (the peak is all four), once leaked.
  uint64_t t = 1'000'000;
  for (uint32_t stack = 1; stack <= 4; ++stack) {
    e.alloc(on_stack(++t, 0x1000000 * stack, kMiB * stack, stack));
    e.alloc(on_stack(++t, 0x1000000 * stack + 0x800000, 4096, stack));
  }
  for (uint32_t stack = 1; stack <= 4; ++stack) e.free(on_stack(++t, 0x1000000 * stack, 0, stack));
  e.end(++t, EndReason::Exit, 0, 1);
  w.finish();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fputs("usage: vramscope_write_seeds DIR\n", stderr);
    return 2;
  }
  const std::string dir = argv[1];
  try {
    write_nvtx_resize(dir + "/nvtx_resize");
    write_vmm_unmap_range(dir + "/vmm_unmap_range");
    write_named_functions(dir + "/named_functions");
    write_named_no_iterations(dir + "/named_no_iterations");
    write_every_byte(dir + "/every_byte");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vramscope_write_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
