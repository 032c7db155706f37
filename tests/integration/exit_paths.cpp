// A job for the integration tests: allocates on the simulated GPU, says how
// many allocations have returned (so a test can kill it and know what must be
// in the trace), and leaves by the way it is told.
//
// usage: exit_paths return|exit|_exit|abort|segv|overflow|overflow-thread|term|throw|loop|dlsym|
// closefds FILE|chdir-fork|raw-fork|raw-fork-records|raw-fork-signals|exec|fork-exec|eintr
#include <cuda_runtime_api.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <nvtx3/nvToolsExt.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace {

__attribute__((noinline)) void* allocate_block(size_t size) {
  void* p = nullptr;
  if (cudaMalloc(&p, size) != cudaSuccess) {
    std::fprintf(stderr, "exit_paths: cudaMalloc failed\n");
    std::exit(1);
  }
  return p;
}

// The parent of a raw-fork test: waits for the child, allocates 2 MiB more,
// says how the child ended and returns 5.
int parent_after_raw_fork(long child) {
  int status = 0;
  if (child < 0 || waitpid(static_cast<pid_t>(child), &status, 0) < 0) return 1;
  allocate_block(1 << 20);
  allocate_block(1 << 20);
  std::printf("child exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  return 5;
}

// Calls itself until the stack runs out (SIGSEGV, with no stack left to
// run a handler on but an alternate one).
__attribute__((noinline)) int recurse(int depth) {
  volatile char frame[1024];
  frame[0] = static_cast<char>(depth);
  if (depth == INT_MAX) return frame[0];  // never: the stack runs out long before
  return recurse(depth + 1) + frame[0];
}

volatile sig_atomic_t g_ticking = 0;
volatile sig_atomic_t g_ticks = 0;

void on_tick(int) {
  if (!g_ticking) return;
  nvtxMarkA("tick");
  g_ticks = g_ticks + 1;
}

// A signal to this thread, delivered before the call returns; counted in
// `ticks`. (raise() would not do in a child of the fork system call: it
// names the thread by the parent's thread id, which the C library keeps.)
void tick_now(int& ticks) {
  if (!g_ticking) return;
  ++ticks;
  syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGALRM);
}

int g_munmap_ticks = 0;
int g_ftruncate_ticks = 0;

// With EXIT_PATHS_EINTR set (from the start: the injector opens the trace
// before main), every other call of ftruncate and posix_fallocate fails with
// EINTR, as they do when a signal the job catches without SA_RESTART comes
// meanwhile (tmpfs's fallocate stops at any pending signal).
struct Interruptions {
  int calls = 0;
  int interrupted = 0;
};
Interruptions g_ftruncate;
Interruptions g_fallocate;

bool interrupt_this_call(Interruptions& of) {
  static const bool interrupting = std::getenv("EXIT_PATHS_EINTR") != nullptr;
  if (!interrupting || of.calls++ % 2 != 0) return false;
  ++of.interrupted;
  return true;
}

}  // namespace

// raw-fork-signals: the injector calls these as it sets up a child's
// generation (munmap: the parent's stack table) and opens its trace
// (ftruncate: the file sized). The program's own definitions come first, so
// there a signal arrives at the worst moment, every time.
extern "C" int munmap(void* address, size_t length) {
  tick_now(g_munmap_ticks);
  return static_cast<int>(syscall(SYS_munmap, address, length));
}

extern "C" int ftruncate(int fd, off_t length) {
  tick_now(g_ftruncate_ticks);
  if (interrupt_this_call(g_ftruncate)) {
    errno = EINTR;
    return -1;
  }
  return static_cast<int>(syscall(SYS_ftruncate, fd, length));
}

extern "C" int posix_fallocate(int fd, off_t offset, off_t length) {
  if (interrupt_this_call(g_fallocate)) return EINTR;
  static const auto real = reinterpret_cast<int (*)(int, off_t, off_t)>(dlsym(RTLD_NEXT, "posix_fallocate"));
  return real ? real(fd, offset, length) : ENOSYS;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(
        stderr,
        "usage: exit_paths return|exit|_exit|abort|segv|overflow|overflow-thread|term|throw|loop|dlsym|"
        "closefds FILE|chdir-fork|raw-fork|raw-fork-records|raw-fork-signals|exec|fork-exec|eintr\n");
    return 2;
  }
  const char* how = argv[1];
  if (std::strcmp(how, "dlsym") == 0) {
    // The injector answers dlsym, and defines exit() itself: RTLD_NEXT from
    // the program must still mean "after the program", which finds the
    // first exit() there is, exactly as RTLD_DEFAULT does.
    void* next = dlsym(RTLD_NEXT, "exit");
    void* first = dlsym(RTLD_DEFAULT, "exit");
    bool same = next && next == first;
    std::printf("RTLD_NEXT finds the first exit(): %s\n", same ? "yes" : "no");
    return same ? 0 : 1;
  }
  for (int i = 0; i < 3; ++i) allocate_block(1 << 20);
  if (std::strcmp(how, "loop") == 0) {
    // Allocate and free forever; after each allocation returns, say so.
    long count = 3;
    std::printf("pid %d\n", getpid());
    std::fflush(stdout);
    for (;;) {
      void* p = allocate_block(4096);
      ++count;
      std::printf("%ld\n", count);
      std::fflush(stdout);
      cudaFree(p);
    }
  }
  if (std::strcmp(how, "closefds") == 0 && argc > 2) {
    // As a daemon does: every descriptor but the standard three closed. The
    // next file it opens likely gets the number the trace had; the profiler
    // must neither write into it nor close it.
    for (int fd = 3; fd < 4096; ++fd) close(fd);
    int own = open(argv[2], O_RDWR | O_CREAT | O_TRUNC, 0600);
    const char text[] = "the job's own file\n";
    if (own < 0 || write(own, text, sizeof text - 1) != static_cast<ssize_t>(sizeof text - 1)) return 1;
    for (int i = 0; i < 20000; ++i) cudaFree(allocate_block(4096));  // new chunks of the trace
    char back[64] = {};
    bool intact = pread(own, back, sizeof back - 1, 0) == static_cast<ssize_t>(sizeof text - 1) &&
                  std::strcmp(back, text) == 0 &&
                  lseek(own, 0, SEEK_END) == static_cast<off_t>(sizeof text - 1);
    std::printf("own file intact: %s\n", intact ? "yes" : "no");
    return intact ? 0 : 1;
  }
  if (std::strcmp(how, "chdir-fork") == 0) {
    // The child opens its trace (lazily, at its first event) after the job left its directory.
    if (chdir("/") != 0) return 1;
    pid_t child = fork();
    if (child == 0) {
      allocate_block(2 << 20);
      _exit(0);
    }
    int status = 0;
    waitpid(child, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
  }
  if (std::strcmp(how, "raw-fork") == 0) {
    // A child made by the fork system call itself, as some runtimes and
    // sandboxes do: no fork handler runs in it, so it holds a copy of the
    // parent's trace state. It ends by exit(), destructors and all, without
    // touching the GPU. The parent then allocates 2 MiB more and is killed:
    // its trace must say it was cut short, with all 5 allocations, and must
    // not take the child's end for its own.
    const long child = syscall(SYS_fork);
    if (child == 0) std::exit(7);
    int status = 0;
    if (child < 0 || waitpid(static_cast<pid_t>(child), &status, 0) < 0) return 1;
    allocate_block(1 << 20);
    allocate_block(1 << 20);
    std::printf("child exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    std::fflush(stdout);
    raise(SIGKILL);
  }
  if (std::strcmp(how, "raw-fork-records") == 0) {
    // As raw-fork, but the child allocates 2 MiB before its exit(7), and the
    // parent, having allocated 2 MiB more, returns 5: each has its own trace.
    const long child = syscall(SYS_fork);
    if (child == 0) {
      allocate_block(2 << 20);
      std::exit(7);
    }
    return parent_after_raw_fork(child);
  }
  if (std::strcmp(how, "raw-fork-signals") == 0) {
    // As raw-fork-records, but in the child a signal whose handler marks an
    // NVTX "tick" arrives whenever the injector unmaps memory or sizes a file
    // during the child's first allocation, which starts the child's
    // generation and opens its trace: a mark on the thread that is setting up
    // must not wait for that setup. The child says how many signals came in
    // each function, and how many ticks its handler marked.
    nvtxMarkA("before fork");  // the parent loads the NVTX tool; the child inherits it
    const long child = syscall(SYS_fork);
    if (child == 0) {
      struct sigaction action = {};
      action.sa_handler = on_tick;
      action.sa_flags = SA_RESTART;
      sigemptyset(&action.sa_mask);
      sigaction(SIGALRM, &action, nullptr);
      g_ticking = 1;
      allocate_block(2 << 20);
      g_ticking = 0;
      std::printf("child: %d signals in munmap, %d in ftruncate, %d ticks\n", g_munmap_ticks,
                  g_ftruncate_ticks, static_cast<int>(g_ticks));
      std::exit(7);
    }
    return parent_after_raw_fork(child);
  }
  if (std::strcmp(how, "eintr") == 0) {
    // 300,000 more allocations and frees: the trace grows by 1 MiB twice or more.
    for (int i = 0; i < 300000; ++i) cudaFree(allocate_block(4096));
    std::printf("interrupted %d of %d calls of ftruncate, %d of %d of posix_fallocate\n",
                g_ftruncate.interrupted, g_ftruncate.calls, g_fallocate.interrupted, g_fallocate.calls);
    return 0;
  }
  if (std::strcmp(how, "exec") == 0) {
    // The same process becomes another program, which allocates 3 MiB more and returns 5.
    const char* again[] = {"exit_paths", "return", nullptr};
    execv("/proc/self/exe", const_cast<char**>(again));
    return 1;
  }
  if (std::strcmp(how, "fork-exec") == 0) {
    // A forked worker allocates 2 MiB, then becomes another program, which
    // allocates 3 MiB more and returns 5; the parent returns what it returned.
    const pid_t child = fork();
    if (child == 0) {
      allocate_block(2 << 20);
      const char* again[] = {"exit_paths", "return", nullptr};
      execv("/proc/self/exe", const_cast<char**>(again));
      _exit(1);
    }
    int status = 0;
    if (child < 0 || waitpid(child, &status, 0) < 0) return 1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
  }
  if (std::strcmp(how, "exit") == 0) std::exit(3);
  if (std::strcmp(how, "_exit") == 0) _exit(4);
  if (std::strcmp(how, "abort") == 0) std::abort();
  if (std::strcmp(how, "segv") == 0) {
    volatile int* null_pointer = nullptr;
    return *null_pointer;
  }
  if (std::strcmp(how, "overflow") == 0) return recurse(0);
  if (std::strcmp(how, "overflow-thread") == 0) {
    // A thread that has recorded (an NVTX mark) overflows its stack.
    std::thread([] {
      nvtxMarkA("thread");
      recurse(0);
    }).join();
    return 1;
  }
  if (std::strcmp(how, "term") == 0) raise(SIGTERM);
  if (std::strcmp(how, "throw") == 0) throw std::runtime_error("exit_paths: an exception nobody catches");
  return 5;
}
