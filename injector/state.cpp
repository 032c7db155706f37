// The injector's state object and the per-thread state.
#include "injector/state.h"

#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <new>

#include "injector/recorder.h"

namespace vramscope::inject {

constinit GenerationPage g_generation;
constinit InjectorState g_state;

// One pointer of static TLS; the state itself is mapped on first use.
__attribute__((tls_model("initial-exec"))) thread_local ThreadState* t_thread_state = nullptr;
__attribute__((tls_model("initial-exec"))) thread_local bool t_setting_up = false;
// The alternate signal stack this thread got from us (give_thread_signal_stack).
__attribute__((tls_model("initial-exec"))) thread_local void* t_signal_stack = nullptr;

namespace {

void start_generation(ThreadState* ts, uint64_t generation) {
  ts->generation = generation;
  ts->index = trace::ThreadIndex{state().next_thread.fetch_add(1)};
  ts->announced = false;
  ts->device = -1;
  ts->early_frames = -1;
  for (auto& entry : ts->stack_cache) entry = {};
}

size_t signal_stack_bytes() {
  const long least = sysconf(_SC_SIGSTKSZ);
  return std::max<size_t>(size_t{64} << 10, least > 0 ? 4 * static_cast<size_t>(least) : 0);
}

}  // namespace

void give_thread_signal_stack() {
  stack_t current{};
  if (t_signal_stack || sigaltstack(nullptr, &current) != 0 || !(current.ss_flags & SS_DISABLE)) return;
  const size_t bytes = signal_stack_bytes();
  void* memory =
      mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (memory == MAP_FAILED) return;
  stack_t ours{};
  ours.ss_sp = memory;
  ours.ss_size = bytes;
  if (sigaltstack(&ours, nullptr) != 0) {
    munmap(memory, bytes);
    return;
  }
  t_signal_stack = memory;
}

void on_thread_exit(void* data) {
  auto* ts = static_cast<ThreadState*>(data);
  seal_thread_chunk(ts);
  // The stack goes with the thread, unless the job has put one of its own in its place.
  stack_t current{};
  if (!t_signal_stack || sigaltstack(nullptr, &current) != 0 || current.ss_sp != t_signal_stack ||
      (current.ss_flags & SS_ONSTACK)) {
    return;
  }
  stack_t off{};
  off.ss_flags = SS_DISABLE;
  if (sigaltstack(&off, nullptr) == 0) munmap(t_signal_stack, signal_stack_bytes());
  t_signal_stack = nullptr;
}

namespace {

// The first event of a child made by the fork system call itself, which
// ran no fork handler: one thread starts the child's generation, any other
// waits for it.
void start_after_unannounced_fork() {
  uint64_t wiped = 0;
  if (g_generation.value.compare_exchange_strong(wiped, kGenerationStarting, std::memory_order_acq_rel)) {
    start_after_fork();
    return;
  }
  while (g_generation.value.load(std::memory_order_acquire) == kGenerationStarting) sched_yield();
}

ThreadState* set_up_thread_state() {
  ThreadState* ts = t_thread_state;
  InjectorState& st = state();
  if (st.generation_wiped) {
    const uint64_t now = g_generation.value.load(std::memory_order_acquire);
    if (now == 0 || now == kGenerationStarting) start_after_unannounced_fork();
  }
  if (ts) {
    uint64_t generation = g_generation.value.load(std::memory_order_relaxed);
    if (ts->generation != generation) {
      // Forked: the chunk is the parent's; leave it to the parent.
      trace::TraceFileWriter::abandon(ts->chunk);
      start_generation(ts, generation);
    }
    return ts;
  }
  if (!st.enabled) return nullptr;
  void* memory = mmap(nullptr, sizeof(ThreadState), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) return nullptr;
  ts = new (memory) ThreadState();
  start_generation(ts, g_generation.value.load());
  t_thread_state = ts;
  pthread_setspecific(st.thread_key, ts);
  give_thread_signal_stack();
  return ts;
}

}  // namespace

ThreadState* thread_state_slow() {
  if (t_setting_up) return nullptr;
  t_setting_up = true;
  ThreadState* ts = set_up_thread_state();
  t_setting_up = false;
  return ts;
}

}  // namespace vramscope::inject
