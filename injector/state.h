// The injector's one state object and its per-thread state. Everything the
// hooks share lives here; nothing else in the injector is global.
#pragma once

#include <pthread.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

#include "formats/trace_file_writer.h"
#include "injector/stack_tree.h"
#include "injector/string_table.h"

namespace vramscope::inject {

inline constexpr int kMaxFrames = 64;
inline constexpr int kStackCacheSize = 256;
inline constexpr int kMaxModules = 2048;
inline constexpr int kMaxDevices = 64;

// A recent whole stack and its id, so a hot call site skips the tree.
struct StackCacheEntry {
  uint64_t hash = 0;
  uint32_t id = 0;
};

// Per-thread state, mapped (not malloc'd) on a thread's first hook call and
// kept for the life of the process.
// One Python frame in a thread's shadow stack (python_stacks.h): its code's
// names (the interpreter's strings, which live as long as the code) and the
// line of its latest call, as plain values: an event reads them without the
// interpreter's lock and never touches the frame itself.
struct PythonShadow {
  const void* frame = nullptr;  // while entered; only the profile function reads it
  const void* code = nullptr;   // its code object
  const char* function = nullptr;
  const char* file = nullptr;
  int32_t lasti = -1;  // the instruction of its latest call (Python 3.11 on); -1: `line` holds the line
  uint32_t line = 0;
};
inline constexpr int kMaxPythonFrames = 48;

struct ThreadState {
  uint64_t generation = 0;  // the process generation it was set up in (fork bumps it)
  trace::ThreadIndex index;
  trace::ChunkSlot chunk;
  int driver_depth = 0;      // > 0 inside a driver call we already count
  trace::Api via = trace::Api::None;  // runtime function being served
  uint32_t recorded = 0;     // events recorded by this thread (the runtime hooks compare)
  bool recording = false;    // inside our own recording code
  bool announced = false;    // its Thread record is in the trace
  int device = -1;           // the current context's device; -1 after a context change
  int early_frames = -1;     // frames already in `frames`, walked by a runtime hook; -1: none
  uint64_t free_stamp = 0;   // time stamp of the runtime free in progress (0: none)
  uint64_t cupti_free_stamp = 0;  // the CUPTI backend's stamp at a free's entry (0: none)
  // The stamp of the event being recorded (0: none): a chunk claimed while it
  // is written is anchored no later, so that its time is kept exactly.
  uint64_t pending_ticks = 0;
  int nvtx_depth = 0;        // NVTX ranges pushed and not yet popped on this thread
  int python_depth = 0;      // Python frames entered and not left (may exceed kMaxPythonFrames)
  PythonShadow python[kMaxPythonFrames];  // the outermost of them
  StackCacheEntry stack_cache[kStackCacheSize];
  void* frames[kMaxFrames];
};

struct ModuleRange {
  uint64_t start = 0;
  uint64_t end = 0;
};

// The process generation (a fork starts the child's), alone in a page of its
// own. At load that page is marked MADV_WIPEONFORK: the kernel zeroes it in
// every child however the child was made, also by the fork system call
// itself, which runs no fork handler. A child's first event then finds 0,
// not its thread's generation, and takes the slow path, which starts the
// child's generation as the handler would: the hot path reads one word, as
// it did before. 0 before load (the page is in .bss, so that it can be wiped).
struct alignas(4096) GenerationPage {
  std::atomic<uint64_t> value{0};
};
extern constinit GenerationPage g_generation;
inline constexpr uint64_t kGenerationStarting = UINT64_MAX;  // a child's first event is starting it

struct InjectorState {
  // Settings from the environment, read once at load.
  bool enabled = true;
  bool native_stacks = true;
  bool libgcc_unwinder = false;  // VRAMSCOPE_STACKS=libgcc: skip libunwind
  bool main_process = false;  // the process `vramscope run` started (its trace path is exact)
  char output[4096] = {};     // VRAMSCOPE_OUTPUT

  bool use_tsc = false;  // ticks are TSC readings (see clock.h)
  double ns_per_tick = 1.0;  // from the calibration
  uint64_t generation = 0;   // g_generation's value, kept where no fork wipes it
  bool generation_wiped = false;  // its page is wiped in a fork's child (Linux 4.14 on)
  pthread_mutex_t open_mutex = PTHREAD_MUTEX_INITIALIZER;
  std::atomic<trace::TraceFileWriter*> writer{nullptr};
  std::atomic<bool> open_failed{false};
  std::atomic<uint32_t> next_thread{1};

  // The chunk reserved at open for the End record, so a signal handler never
  // needs to claim one.
  trace::ChunkSlot end_chunk;
  std::atomic<bool> end_written{false};
  // The CUPTI backend records the driver calls (vramscope run --backend
  // cupti): the preload's driver hooks then only pass the calls on.
  std::atomic<bool> cupti_records{false};
  // Python threads keep a shadow of their frames (python_stacks.h).
  std::atomic<bool> python_stacks{false};
  int exit_status = -1;  // from exit() or main's return; -1 when unknown
  pid_t owner_pid = 0;   // the process the open trace belongs to
  char live_socket[108] = {};  // vramscope run --live: this process's socket, removed at its end
  pid_t live_owner = 0;
  void* live_stream = nullptr;  // the sending thread's state (live_stream.cpp)

  StackTree stacks;
  StackTree python_frames;  // Python frames by their content (python_stacks.h): the key's id is the FrameId
  StringTable strings;      // NVTX names, Python functions and files
  std::atomic<uint64_t> next_heap_handle{1};  // NVTX heaps registered without an address range
  std::atomic<uint64_t> devices_seen{0};  // bit per ordinal < 64

  // Modules already written, to write each once.
  pthread_mutex_t module_mutex = PTHREAD_MUTEX_INITIALIZER;
  ModuleRange modules[kMaxModules];
  std::atomic<int> module_count{0};
  ModuleRange self;  // this library's code: frames in it are dropped

  pthread_key_t thread_key{};
};

// The one instance, constant-initialized: no guard on the hot path, and it
// never goes away, since hooks run until the very end of the process.
extern constinit InjectorState g_state;
inline InjectorState& state() { return g_state; }

extern __attribute__((tls_model("initial-exec"))) thread_local ThreadState* t_thread_state;
// Set while this thread sets up the injector's state: its own, the process's
// after a fork, or the trace at its first event. A signal handler that
// records on this thread in that time finds it set, and its event is not
// recorded (as one that interrupts our recording code is not) rather than
// wait for a setup that cannot go on until the handler returns.
extern __attribute__((tls_model("initial-exec"))) thread_local bool t_setting_up;
ThreadState* thread_state_slow();

// The calling thread's state, made on first use; nullptr when recording is
// off or no memory can be had.
inline ThreadState* thread_state() {
  ThreadState* ts = t_thread_state;
  if (ts && ts->generation == g_generation.value.load(std::memory_order_relaxed)) [[likely]]
    return ts;
  return thread_state_slow();
}

// Gives the calling thread an alternate signal stack of ours, unless it has
// one: the fatal-signal handlers (SA_ONSTACK) can then write the end record
// after a stack overflow too. Freed when a thread that recorded ends.
void give_thread_signal_stack();

// Whether the open trace is this process's own: a child of the fork system
// call holds a copy of its parent's state until it records.
inline bool owns_open_trace() { return g_state.owner_pid == getpid(); }

// A child's fresh start: drops everything of the parent's trace without
// touching it (process_hooks.cpp). Run by the fork handler, or by the
// child's first event when no handler ran.
void start_after_fork();

}  // namespace vramscope::inject
