// fork: a process that forks before touching CUDA; parent and child both use the GPU.
// (CUDA cannot be used in a child forked after the parent initialized it.)
//
// Exact allocation pattern (every allocation a cudaMalloc):
//   child   child_allocate: 3 x 8 MiB (8388608 bytes); frees the first 2 and leaks
//           the third (8 MiB live at the child's exit); exits 0.
//   parent  parent_allocate: 2 x 16 MiB (16777216 bytes); frees both; waits for the
//           child. Nothing live at the parent's exit.
// Output is printed by the parent after the child has exited, so it is stable.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "common/sample_support.h"

namespace {

constexpr const char* kUsage =
    "usage: fork [--wait-ms T] [--child-lingers-ms T]\n"
    "Forks before any CUDA call. The child allocates 3 x 8 MiB and frees 2 (one\n"
    "leaks); the parent allocates 2 x 16 MiB and frees both.\n"
    "--wait-ms T: sleep T ms before forking (time for a live viewer to attach).\n"
    "--child-lingers-ms T: the child sleeps T ms before it exits, and the parent\n"
    "does not wait for it (it ends first).\n";

constexpr uint64_t kMiB = uint64_t{1} << 20;

__attribute__((noinline)) void* child_allocate() {
  void* p = nullptr;
  sample::check(cudaMalloc(&p, 8 * kMiB), "cudaMalloc");
  return p;
}

__attribute__((noinline)) void* parent_allocate() {
  void* p = nullptr;
  sample::check(cudaMalloc(&p, 16 * kMiB), "cudaMalloc");
  return p;
}

[[noreturn]] void run_child(uint64_t linger_ms) {
  void* buffers[3];
  for (auto& b : buffers) b = child_allocate();
  sample::check(cudaFree(buffers[0]), "cudaFree");
  sample::check(cudaFree(buffers[1]), "cudaFree");
  std::printf("fork: child allocated 3 x %llu bytes, freed 2\n", static_cast<unsigned long long>(8 * kMiB));
  std::fflush(stdout);
  if (linger_ms) std::this_thread::sleep_for(std::chrono::milliseconds(linger_ms));
  std::exit(0);  // a normal exit, with atexit handlers: a profiler writes the child's trace
}

}  // namespace

int main(int argc, char** argv) {
  sample::CommandLine args(argc, argv, kUsage);
  const uint64_t wait_ms = args.count("--wait-ms", 0, 0);
  const uint64_t linger_ms = args.count("--child-lingers-ms", 0, 0);
  args.finish();

  if (wait_ms) std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
  std::fflush(stdout);
  pid_t child = fork();
  if (child < 0) {
    std::perror("fork: fork");
    return 1;
  }
  if (child == 0) run_child(linger_ms);

  void* buffers[2];
  for (auto& b : buffers) b = parent_allocate();
  for (auto b : buffers) sample::check(cudaFree(b), "cudaFree");
  if (linger_ms) {
    std::printf("fork: parent allocated 2 x %llu bytes, freed 2; exits before its child\n",
                static_cast<unsigned long long>(16 * kMiB));
    return 0;
  }

  int status = 0;
  if (waitpid(child, &status, 0) != child) {
    std::perror("fork: waitpid");
    return 1;
  }
  int child_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::printf("fork: child exited with status %d\n", child_code);
  std::printf("fork: parent allocated 2 x %llu bytes, freed 2\n", static_cast<unsigned long long>(16 * kMiB));
  std::printf("fork: parent exits with status %d\n", child_code == 0 ? 0 : 1);
  return child_code == 0 ? 0 : 1;
}
