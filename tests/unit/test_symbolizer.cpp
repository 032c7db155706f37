// Unit tests of the symbolizer (on this test binary's own code) and of the
// site rule that skips the profiler, CUDA and runtime frames.
#include <doctest/doctest.h>
#include <elf.h>
#include <link.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <string>
#include <vector>

#include "analyzer/analysis.h"
#include "analyzer/stack_resolver.h"
#include "analyzer/symbolizer.h"
#include "trace_builder.h"

using namespace vramscope;

namespace vramscope_test {

// Kept out of line so that its address is its own.
__attribute__((noinline)) int symbolizer_target(int x) {
  volatile int y = x;
  y = y * 3 + 1;
  return y;
}

// A return address inside an inlined function: inlined_helper is folded into
// inlined_caller, and the address where `here` returns lies in its code.
__attribute__((noinline)) void* here() { return __builtin_return_address(0); }
__attribute__((always_inline)) inline void* inlined_helper() {
  return here();  // kInlinedCallLine
}
__attribute__((noinline)) void* inlined_caller() {
  void* address = inlined_helper();  // kCallerLine
  asm volatile("" ::: "memory");     // no tail call: the return stays here
  return address;
}
constexpr uint32_t kInlinedCallLine = __LINE__ - 7;
constexpr uint32_t kCallerLine = __LINE__ - 5;

// An inlined function whose call stands in a block with a variable of its
// own: the DWARF scopes hold a lexical block inside the inlined function.
__attribute__((always_inline)) inline void* inlined_with_block(int rounds) {
  void* address = nullptr;
  if (rounds > 0) {
    std::string label(static_cast<size_t>(rounds), 'x');
    address = here();  // kBlockInnerLine
    asm volatile("" : : "r"(label.data()) : "memory");
  }
  return address;
}
constexpr uint32_t kBlockInnerLine = __LINE__ - 5;
__attribute__((noinline)) void* inlined_in_block(int rounds) {
  void* address = inlined_with_block(rounds);  // kBlockCallerLine
  asm volatile("" ::: "memory");
  return address;
}
constexpr uint32_t kBlockCallerLine = __LINE__ - 4;

}  // namespace vramscope_test

namespace {

// The modules of this process, as the injector records them.
std::vector<trace::Module> loaded_modules() {
  std::vector<trace::Module> modules;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        trace::Module module;
        module.path = info->dlpi_name ? info->dlpi_name : "";
        if (module.path.empty()) {
          char exe[PATH_MAX];
          ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
          if (n > 0) module.path.assign(exe, static_cast<size_t>(n));
        }
        module.base = info->dlpi_addr;
        module.start = UINT64_MAX;
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
          module.start = std::min<uint64_t>(module.start, info->dlpi_addr + ph.p_vaddr);
          module.end = std::max<uint64_t>(module.end, info->dlpi_addr + ph.p_vaddr + ph.p_memsz);
        }
        if (module.start < module.end) static_cast<std::vector<trace::Module>*>(data)->push_back(module);
        return 0;
      },
      &modules);
  return modules;
}

}  // namespace

TEST_CASE("symbolizer: names a function of this binary with its file and line") {
  CHECK(vramscope_test::symbolizer_target(2) == 7);
  analysis::Symbolizer symbolizer(loaded_modules());
  // As if the call returned to a few bytes into the function.
  uint64_t ip = reinterpret_cast<uint64_t>(&vramscope_test::symbolizer_target) + 4;
  const analysis::Stack& frames = symbolizer.symbolize(ip);
  REQUIRE(frames.size() == 1);
  const analysis::StackFrame& frame = frames[0];
  CHECK(frame.function == "vramscope_test::symbolizer_target(int)");
  CHECK_FALSE(frame.inlined);
  CHECK(frame.file.ends_with("test_symbolizer.cpp"));
  CHECK(frame.line > 0);
  CHECK(frame.address == ip);
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  REQUIRE(n > 0);
  CHECK(frame.module == std::string(exe, static_cast<size_t>(n)));
  // Cached: the same object comes back.
  CHECK(&symbolizer.symbolize(ip) == &frames);
}

TEST_CASE("symbolizer: a module path in the trace that is a FIFO or a device is not read") {
  // A trace is input like any other: a path in it to a FIFO would block the
  // reader for ever, /dev/zero would feed it without end. Each is left
  // unnamed, and the real modules are still named. Run in a child with an
  // alarm, so that a reader that blocks fails the test instead of hanging it.
  const std::string fifo = "/tmp/vramscope-symbolizer-fifo." + std::to_string(getpid());
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  std::vector<trace::Module> modules = loaded_modules();
  modules.push_back(trace::Module{fifo, 0x10000, 0x10000, 0x20000, ""});
  modules.push_back(trace::Module{"/dev/zero", 0x30000, 0x30000, 0x40000, ""});
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    alarm(20);
    analysis::Symbolizer symbolizer(modules);
    const uint64_t ip = reinterpret_cast<uint64_t>(&vramscope_test::symbolizer_target) + 4;
    const bool own_named =
        symbolizer.symbolize(ip).front().function == "vramscope_test::symbolizer_target(int)";
    const bool fifo_unnamed = symbolizer.symbolize(0x10010).front().function == "??";
    const bool zero_unnamed = symbolizer.symbolize(0x30010).front().function == "??";
    _exit(own_named && fifo_unnamed && zero_unnamed ? 0 : 1);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  std::remove(fifo.c_str());
  INFO("the child ended by signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0));
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE(
    "symbolizer: a function inlined at the address comes first, its caller after it with the call's line") {
  analysis::Symbolizer symbolizer(loaded_modules());
  uint64_t ip = reinterpret_cast<uint64_t>(vramscope_test::inlined_caller());
  const analysis::Stack& frames = symbolizer.symbolize(ip);
  REQUIRE(frames.size() == 2);
  CHECK(frames[0].function == "vramscope_test::inlined_helper()");
  CHECK(frames[0].inlined);
  CHECK(frames[0].line == vramscope_test::kInlinedCallLine);
  CHECK(frames[0].file.ends_with("test_symbolizer.cpp"));
  CHECK(frames[1].function == "vramscope_test::inlined_caller()");
  CHECK_FALSE(frames[1].inlined);
  CHECK(frames[1].line == vramscope_test::kCallerLine);
  CHECK(frames[1].file.ends_with("test_symbolizer.cpp"));
  CHECK(frames[0].address == ip);
  CHECK(frames[1].address == ip);
}

TEST_CASE("symbolizer: a lexical block between an inlined function and its caller is no frame") {
  analysis::Symbolizer symbolizer(loaded_modules());
  uint64_t ip = reinterpret_cast<uint64_t>(vramscope_test::inlined_in_block(2));
  const analysis::Stack& frames = symbolizer.symbolize(ip);
  REQUIRE(frames.size() == 2);
  CHECK(frames[0].function == "vramscope_test::inlined_with_block(int)");
  CHECK(frames[0].line == vramscope_test::kBlockInnerLine);
  CHECK(frames[1].function == "vramscope_test::inlined_in_block(int)");
  CHECK(frames[1].line == vramscope_test::kBlockCallerLine);
}

TEST_CASE("site rule: a function inlined from a runtime or CUDA header is no site") {
  CHECK(analysis::is_runtime_header("/usr/include/c++/12/bits/stl_vector.h"));
  CHECK(analysis::is_runtime_header("/usr/local/cuda/include/cuda_runtime.h"));
  CHECK(analysis::is_runtime_header("/opt/cuda-13.0/targets/x86_64-linux/include/cuda_runtime.h"));
  CHECK(analysis::is_runtime_header("/opt/gcc/include/c++/13/bits/unique_ptr.h"));
  CHECK_FALSE(analysis::is_runtime_header("/home/me/train/model.h"));
  CHECK_FALSE(analysis::is_runtime_header(""));
}

TEST_CASE("symbolizer: a module that is gone gives ?? with module and offset") {
  trace::Module gone{"/nonexistent/libgone.so", 0x7f0000000000, 0x7f0000001000, 0x7f0000009000, "abcd"};
  analysis::Symbolizer symbolizer({gone});
  REQUIRE(symbolizer.symbolize(0x7f0000002345).size() == 1);
  const analysis::StackFrame& frame = symbolizer.symbolize(0x7f0000002345)[0];
  CHECK(frame.function == "??");
  CHECK(frame.module == "/nonexistent/libgone.so");
  CHECK(frame.module_offset == 0x2344);
  CHECK(frame.line == 0);

  const analysis::StackFrame& outside = symbolizer.symbolize(0x1234).front();
  CHECK(outside.function == "??");
  CHECK(outside.module.empty());
  CHECK(symbolizer.symbolize(0).front().function == "??");
}

TEST_CASE("symbolizer: a module rebuilt since the trace (other build id) names nothing") {
  std::vector<trace::Module> modules = loaded_modules();
  REQUIRE(!modules.empty());
  modules[0].build_id = "00112233445566778899aabbccddeeff00112233";  // the test binary, changed
  analysis::Symbolizer symbolizer(modules);
  uint64_t ip = reinterpret_cast<uint64_t>(&vramscope_test::symbolizer_target) + 4;
  const analysis::StackFrame& frame = symbolizer.symbolize(ip).front();
  CHECK(frame.function == "??");
  CHECK(frame.module == modules[0].path);
}

TEST_CASE("site rule: runtime modules by file name") {
  CHECK(analysis::is_runtime_module("/opt/vramscope/lib/vramscope/libvramscope_inject.so"));
  CHECK(analysis::is_runtime_module("/usr/lib/x86_64-linux-gnu/libcuda.so.1"));
  CHECK(analysis::is_runtime_module("/usr/local/cuda/lib64/libcudart.so.13"));
  CHECK(analysis::is_runtime_module("libcublasLt.so.13"));
  CHECK(analysis::is_runtime_module("/usr/lib/libcudnn_ops.so.9"));
  CHECK(analysis::is_runtime_module("/usr/lib/libnccl.so.2"));
  CHECK(analysis::is_runtime_module("/lib/x86_64-linux-gnu/libc.so.6"));
  CHECK(analysis::is_runtime_module("/lib/x86_64-linux-gnu/libstdc++.so.6"));
  CHECK(analysis::is_runtime_module("/lib64/ld-linux-x86-64.so.2"));
  CHECK_FALSE(analysis::is_runtime_module("/home/me/train"));
  CHECK_FALSE(analysis::is_runtime_module("/usr/lib/python3/torch/lib/libc10_cuda.so"));
  CHECK_FALSE(analysis::is_runtime_module(""));
}

TEST_CASE("site: the first frame outside the profiler, CUDA and the runtime") {
  testing::TraceBuilder b;
  b.trace.modules = {
      {"/work/app/train", 0x400000, 0x401000, 0x402000, ""},
      {"/lib/x86_64-linux-gnu/libc.so.6", 0x7f1000000000, 0x7f1000000000, 0x7f1000100000, ""},
      {"/usr/local/cuda/lib64/libcudart.so.13", 0x7f2000000000, 0x7f2000000000, 0x7f2000100000, ""},
      {"/opt/vramscope/libvramscope_inject.so", 0x7f3000000000, 0x7f3000000000, 0x7f3000100000, ""},
  };
  // Outermost first: libc's start, the program, the runtime, the injector.
  auto stack = b.native_stack({0x7f1000000100, 0x401234, 0x7f2000000200, 0x7f3000000300});
  auto runtime_only = b.native_stack({0x7f2000000500, 0x7f3000000600});
  b.alloc(1, 0x1000, 10, stack);
  b.alloc(2, 0x2000, 5, runtime_only);

  analysis::Report r = analysis::analyze_trace(b.trace);
  REQUIRE(r.leaks.groups.size() == 2);
  const analysis::LeakGroup& user = r.leaks.groups[0];
  CHECK(user.site.function == "??");  // the files are not there: named by module and offset
  CHECK(user.site.module == "/work/app/train");
  CHECK(user.site.address == 0x401234);
  REQUIRE(user.stack.size() == 4);
  CHECK(user.stack[0].module == "/opt/vramscope/libvramscope_inject.so");
  CHECK(user.stack[0].module_offset == 0x2ff);
  CHECK(user.stack[3].module == "/lib/x86_64-linux-gnu/libc.so.6");
  // All runtime: the innermost frame.
  CHECK(r.leaks.groups[1].site.module == "/opt/vramscope/libvramscope_inject.so");
  CHECK(r.leaks.groups[1].site.address == 0x7f3000000600);
}
