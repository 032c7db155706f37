// The process's life: load, fork, every way out (return from main, exit,
// _exit, fatal signals, abort). Each way out leaves an End record; the events
// before it are already safe in the shared mapping whatever happens.
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "injector/live_stream.h"
#include "injector/modules.h"
#include "injector/real_functions.h"
#include "injector/recorder.h"
#include "injector/state.h"
#include "injector/trace_open.h"
#include "injector/unwinder.h"

namespace vramscope::inject {
void on_thread_exit(void* data);
}

using namespace vramscope::inject;
using vramscope::trace::EndReason;

namespace {

constexpr int kFatalSignals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTERM,
                                 SIGINT,  SIGHUP, SIGQUIT, SIGXCPU, SIGXFSZ, SIGPIPE};

void on_fatal_signal(int signal_number, siginfo_t* info, void*) {
  int saved_errno = errno;
  write_end(signal_number == SIGABRT ? EndReason::Abort : EndReason::Signal, signal_number);
  // Then die as the signal would have killed us without us.
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  sigemptyset(&default_action.sa_mask);
  sigaction(signal_number, &default_action, nullptr);
  bool from_fault = info && info->si_code > 0 &&
                    (signal_number == SIGSEGV || signal_number == SIGBUS || signal_number == SIGFPE ||
                     signal_number == SIGILL);
  // A fault happens again when we return; anything else is sent again.
  if (!from_fault) raise(signal_number);
  errno = saved_errno;
}

// Only where the job left the default: a signal it ignores stays ignored, and
// a handler it installs later replaces ours.
void install_signal_handlers() {
  for (int signal_number : kFatalSignals) {
    struct sigaction current {};
    if (sigaction(signal_number, nullptr, &current) != 0) continue;
    if (!(current.sa_flags & SA_SIGINFO) && current.sa_handler != SIG_DFL) continue;
    if (current.sa_flags & SA_SIGINFO) continue;
    struct sigaction action {};
    action.sa_sigaction = on_fatal_signal;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    sigaction(signal_number, &action, nullptr);
  }
}

// The first generation, in a page the kernel wipes in a fork's child where
// it can (GenerationPage).
void start_first_generation() {
  InjectorState& st = state();
  st.generation = 1;
  g_generation.value.store(1, std::memory_order_release);
  st.generation_wiped = sysconf(_SC_PAGESIZE) == static_cast<long>(sizeof(GenerationPage)) &&
                        madvise(&g_generation, sizeof(GenerationPage), MADV_WIPEONFORK) == 0;
}

}  // namespace

void vramscope::inject::start_after_fork() {
  InjectorState& st = state();
  const bool was_setting_up = t_setting_up;  // set already when a child's first event starts it
  t_setting_up = true;
  // Everything that belongs to the parent's trace is dropped without
  // touching it; the child opens its own when it first records.
  if (auto* writer = st.writer.load()) writer->detach();
  st.writer.store(nullptr);
  forget_live_stream_after_fork();
  st.end_chunk = {};
  st.end_written.store(false);
  st.open_failed.store(false);
  st.main_process = false;
  pthread_mutex_init(&st.open_mutex, nullptr);
  st.devices_seen.store(0);
  st.next_thread.store(1);
  st.stacks.reset();
  st.python_frames.reset();
  st.strings.reset();
  forget_written_modules();
  st.generation += 1;
  g_generation.value.store(st.generation, std::memory_order_release);
  t_setting_up = was_setting_up;
}

namespace {

void on_end_of_process() {
  InjectorState& st = state();
  // A child made by the fork system call itself ran no fork handler: until it
  // records, it holds a copy of the parent's trace state, none of it its own
  // to end or seal.
  if (!owns_open_trace()) return;
  write_end(EndReason::Exit, st.exit_status);
  if (ThreadState* ts = thread_state()) seal_thread_chunk(ts);
  if (auto* writer = st.writer.load()) writer->stop_claims();
  stop_live_stream();
}

__attribute__((constructor(101))) void on_load() {
  InjectorState& st = state();
  read_settings();
  if (!st.enabled) return;
  start_first_generation();
  init_own_code_range();
  if (st.native_stacks && !st.stacks.init(size_t{1} << 21)) {
    std::fputs("vramscope: no memory for the stack table; recording without stacks\n", stderr);
    st.native_stacks = false;
  }
  if (st.native_stacks && load_unwinder(st.libgcc_unwinder) == UnwinderKind::kLibgcc && !st.libgcc_unwinder) {
    std::fputs("vramscope: libunwind.so.8 is not available; walking stacks with libgcc's slower unwinder\n",
               stderr);
  }
  pthread_key_create(&st.thread_key, on_thread_exit);
  pthread_atfork(nullptr, nullptr, start_after_fork);
  install_signal_handlers();
  give_thread_signal_stack();           // the main thread's; others get theirs when they first record
  if (st.main_process) trace_writer();  // the job's trace exists even if it never touches the GPU
}

// Library destructors run after atexit handlers and after the destructors of
// libraries loaded after us, so frees made during teardown come first.
__attribute__((destructor(101))) void on_unload() {
  if (state().enabled) on_end_of_process();
}

using MainFn = int (*)(int, char**, char**);
MainFn g_real_main = nullptr;

int main_wrapper(int argc, char** argv, char** envp) {
  int status = g_real_main(argc, argv, envp);
  state().exit_status = status;
  return status;
}

}  // namespace

#pragma GCC visibility push(default)  // the hooks are what the job links to
extern "C" {

// Wraps main to learn the exit status of a job that returns from main.
int __libc_start_main(MainFn main, int argc, char** argv, void (*init)(), void (*fini)(), void (*rtld_fini)(),
                      void* stack_end) {
  using StartFn = int (*)(MainFn, int, char**, void (*)(), void (*)(), void (*)(), void*);
  auto real = reinterpret_cast<StartFn>(real_next("__libc_start_main"));
  g_real_main = main;
  return real(main_wrapper, argc, argv, init, fini, rtld_fini, stack_end);
}

void exit(int status) noexcept {
  state().exit_status = status;
  using ExitFn = void (*)(int);
  static auto real = reinterpret_cast<ExitFn>(real_next("exit"));
  real(status);
  __builtin_unreachable();
}

void _exit(int status) {
  write_end(EndReason::Exit, status);
  using ExitFn = void (*)(int);
  static auto real = reinterpret_cast<ExitFn>(real_next("_exit"));
  real(status);
  __builtin_unreachable();
}

void _Exit(int status) noexcept {
  write_end(EndReason::Exit, status);
  using ExitFn = void (*)(int);
  static auto real = reinterpret_cast<ExitFn>(real_next("_Exit"));
  real(status);
  __builtin_unreachable();
}

pid_t fork() noexcept {
  using ForkFn = pid_t (*)();
  static auto real = reinterpret_cast<ForkFn>(real_next("fork"));
  pid_t pid = real();
  if (pid > 0) record_fork(thread_state(), pid);
  return pid;
}

}  // extern "C"
#pragma GCC visibility pop
