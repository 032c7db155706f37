// fork_workers: a parent that keeps allocating on several threads while it
// forks workers, as PyTorch's DataLoader does; some workers exec a program
// of their own that uses the GPU.
//
// Exact allocation pattern (T threads, I iterations, W workers, every K-th exec'd):
//   parent  thread t (0-based), in allocate_in_parent, I times: 1 allocation
//           of (t+1) MiB, then it is freed. allocations = frees = T*I; nothing
//           live at exit. The main thread forks the W workers one after
//           another once every thread has made its first allocation, so the
//           forks fall while the threads allocate, and waits for them all.
//   worker  w (1-based): if w is a multiple of K, it execs this program with
//           --exec-worker, a process of its own that allocates 4 x 2 MiB
//           (2097152 bytes) in allocate_in_exec_worker and frees 3 (one 2 MiB
//           leak). Any other worker touches no GPU memory: it sums numbers in
//           host memory, sends the sum to the parent through a pipe and ends,
//           the even ones with exit(), the odd ones with _exit() (as Python's
//           multiprocessing ends its workers).
// Defaults (T=4, I=2000, W=8, K=2): 8000 allocations and 8000 frees in the
// parent; workers 2, 4, 6 and 8 exec, each 4 allocations and 3 frees.
// The output is printed by the parent once every worker has ended, so it is stable.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "common/sample_support.h"

namespace {

constexpr const char* kUsage =
    "usage: fork_workers [--threads T] [--iterations I] [--workers W] [--exec-every K]\n"
    "Thread t of the parent allocates and frees (t+1) MiB, I times, while the main\n"
    "thread forks W workers. Every K-th worker execs this program with --exec-worker\n"
    "(4 x 2 MiB allocated, 3 freed); the others do host work only.\n"
    "Defaults: T=4, I=2000, W=8, K=2.\n";

constexpr uint64_t kMiB = uint64_t{1} << 20;

__attribute__((noinline)) void* allocate_in_parent(uint64_t bytes) {
  void* p = nullptr;
  sample::check(cudaMalloc(&p, bytes), "cudaMalloc");
  return p;
}

__attribute__((noinline)) void* allocate_in_exec_worker() {
  void* p = nullptr;
  sample::check(cudaMalloc(&p, 2 * kMiB), "cudaMalloc");
  return p;
}

int run_exec_worker() {
  void* buffers[4];
  for (auto& b : buffers) b = allocate_in_exec_worker();
  for (int i = 0; i < 3; ++i) sample::check(cudaFree(buffers[i]), "cudaFree");
  return 0;
}

// The sum of 1..n, worked out the long way in host memory.
uint64_t host_work(uint64_t n) {
  std::vector<uint64_t> numbers(n);
  for (uint64_t i = 0; i < n; ++i) numbers[i] = i + 1;
  uint64_t sum = 0;
  for (uint64_t x : numbers) sum += x;
  return sum;
}

[[noreturn]] void run_worker(uint64_t index, uint64_t exec_every, int result_fd) {
  if (index % exec_every == 0) {
    const char* argv[] = {"fork_workers", "--exec-worker", nullptr};
    execv("/proc/self/exe", const_cast<char**>(argv));
    std::perror("fork_workers: execv");
    _exit(127);
  }
  const uint64_t sum = host_work(index * 100000);
  const bool sent = write(result_fd, &sum, sizeof sum) == static_cast<ssize_t>(sizeof sum);
  if (index % 2 == 0) std::exit(sent ? 0 : 1);
  _exit(sent ? 0 : 1);
}

}  // namespace

int main(int argc, char** argv) {
  sample::CommandLine args(argc, argv, kUsage);
  if (args.flag("--exec-worker")) {
    args.finish();
    return run_exec_worker();
  }
  const uint64_t threads = args.count("--threads", 4);
  const uint64_t iterations = args.count("--iterations", 2000);
  const uint64_t workers = args.count("--workers", 8);
  const uint64_t exec_every = args.count("--exec-every", 2);
  args.finish();

  std::atomic<uint64_t> started{0};
  std::vector<std::thread> allocating;
  for (uint64_t t = 0; t < threads; ++t) {
    allocating.emplace_back([t, iterations, &started] {
      for (uint64_t i = 0; i < iterations; ++i) {
        void* p = allocate_in_parent((t + 1) * kMiB);
        if (i == 0) started.fetch_add(1);
        sample::check(cudaFree(p), "cudaFree");
      }
    });
  }
  while (started.load() < threads) std::this_thread::yield();

  std::fflush(stdout);
  std::vector<pid_t> pids;
  std::vector<int> result_fds;
  for (uint64_t w = 1; w <= workers; ++w) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
      std::perror("fork_workers: pipe");
      return 1;
    }
    pid_t pid = fork();
    if (pid < 0) {
      std::perror("fork_workers: fork");
      return 1;
    }
    if (pid == 0) run_worker(w, exec_every, fds[1]);
    close(fds[1]);
    pids.push_back(pid);
    result_fds.push_back(fds[0]);
  }

  uint64_t failed = 0, execed = 0, sums_right = 0;
  for (uint64_t w = 1; w <= workers; ++w) {
    int status = 0;
    if (waitpid(pids[w - 1], &status, 0) != pids[w - 1] || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      failed += 1;
    }
    if (w % exec_every == 0) {
      execed += 1;
    } else {
      uint64_t sum = 0;
      const uint64_t n = w * 100000;
      sums_right += read(result_fds[w - 1], &sum, sizeof sum) == static_cast<ssize_t>(sizeof sum) &&
                    sum == n * (n + 1) / 2;
    }
    close(result_fds[w - 1]);
  }
  for (auto& t : allocating) t.join();

  std::printf("fork_workers: %llu threads allocated and freed %llu times each\n",
              static_cast<unsigned long long>(threads), static_cast<unsigned long long>(iterations));
  std::printf("fork_workers: %llu workers, %llu exec'd, %llu host sums right, %llu failed\n",
              static_cast<unsigned long long>(workers), static_cast<unsigned long long>(execed),
              static_cast<unsigned long long>(sums_right), static_cast<unsigned long long>(failed));
  return failed == 0 ? 0 : 1;
}
