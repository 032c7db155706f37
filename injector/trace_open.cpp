// Trace path, header and opening. Runs once per process (and once more in a
// forked child), never on the hot path, so it may allocate.
#include "injector/trace_open.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "injector/clock.h"
#include "injector/live_stream.h"
#include "injector/recorder.h"
#include "injector/state.h"

namespace vramscope::inject {

using namespace vramscope::trace;

namespace {

int env_int(std::initializer_list<const char*> names) {
  for (const char* name : names) {
    const char* value = std::getenv(name);
    if (value && *value) {
      char* end = nullptr;
      long v = std::strtol(value, &end, 10);
      if (end && *end == 0 && v >= 0 && v < (1L << 30)) return static_cast<int>(v);
    }
  }
  return -1;
}

std::string host_name() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || !host[0]) return "localhost";
  return host;
}

std::vector<std::string> command_line() {
  std::vector<std::string> args;
  int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return args;
  std::string all;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof buffer)) > 0 && all.size() < (1u << 20)) all.append(buffer, n);
  close(fd);
  size_t start = 0;
  while (start < all.size()) {
    size_t end = all.find('\0', start);
    if (end == std::string::npos) end = all.size();
    args.push_back(all.substr(start, end - start));
    start = end + 1;
  }
  return args;
}

Header make_header() {
  Header h;
  h.ticks_per_second = calibrate_ticks();
  timespec wall{};
  clock_gettime(CLOCK_REALTIME, &wall);
  h.start_ns = clock_ns();
  h.start_unix_ns = static_cast<uint64_t>(wall.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(wall.tv_nsec);
  h.pid = static_cast<uint32_t>(getpid());
  h.parent_pid = static_cast<uint32_t>(getppid());
  h.host = host_name();
  h.rank = env_int({"RANK", "OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK", "SLURM_PROCID"});
  h.local_rank = env_int({"LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"});
  h.world_size = env_int({"WORLD_SIZE", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_NTASKS"});
  h.command_line = command_line();
  return h;
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The trace of a process that `vramscope run` did not start itself (a forked
// child, a rank under a launcher): named by host, rank and pid beside the
// main trace.
std::string derived_path(const Header& h, const std::string& output, int attempt) {
  std::string stem;
  if (output.empty()) {
    stem = "vramscope";
  } else if (output.back() == '/' || is_directory(output)) {
    stem = output + (output.back() == '/' ? "" : "/") + "vramscope";
  } else {
    stem = output;
    const std::string suffix = ".vstrace";
    if (stem.size() > suffix.size() && stem.compare(stem.size() - suffix.size(), suffix.size(), suffix) == 0) {
      stem.resize(stem.size() - suffix.size());
    }
  }
  std::string path = stem + "." + h.host;
  if (h.rank >= 0) path += ".rank" + std::to_string(h.rank);
  path += "." + std::to_string(h.pid);
  if (attempt > 0) path += "." + std::to_string(attempt);
  return path + ".vstrace";
}

// When this process started, on the writer's monotonic clock, rounded down
// (the kernel counts in clock ticks since boot; the offset between boot time
// and monotonic time taken now is at least the one at the start, so the
// result is never later than the true start). A trace opened before it was
// some earlier process's with a recycled pid, except within one clock tick.
// Returns UINT64_MAX when /proc cannot say: no earlier trace is then ours.
uint64_t process_start_ns() {
  int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return UINT64_MAX;
  char text[1024] = {};
  const ssize_t got = read(fd, text, sizeof text - 1);
  close(fd);
  const char* after_name = got > 0 ? std::strrchr(text, ')') : nullptr;
  if (!after_name) return UINT64_MAX;
  // The state is field 3; the start time, field 22, comes 19 fields later.
  const char* p = after_name + 1;
  for (int field = 3; field < 22 && p; ++field) p = std::strchr(p + 1, ' ');
  char* end = nullptr;
  const unsigned long long start_ticks = p ? std::strtoull(p + 1, &end, 10) : 0;
  const long ticks_per_second = sysconf(_SC_CLK_TCK);
  if (!p || end == p + 1 || ticks_per_second <= 0) return UINT64_MAX;
  timespec boot{}, monotonic{};
  clock_gettime(CLOCK_BOOTTIME, &boot);
  clock_gettime(CLOCK_MONOTONIC, &monotonic);
  const auto ns = [](const timespec& t) {
    return static_cast<uint64_t>(t.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(t.tv_nsec);
  };
  const uint64_t boot_offset = ns(boot) > ns(monotonic) ? ns(boot) - ns(monotonic) : 0;
  const uint64_t start_boot = start_ticks * (1'000'000'000ull / static_cast<uint64_t>(ticks_per_second));
  return start_boot > boot_offset ? start_boot - boot_offset : 0;
}

// The trace at `path`, if this very process wrote it before it exec'd the
// program now loading.
EarlierTrace earlier_trace_here(const std::string& path) {
  return earlier_trace_of(path, static_cast<uint32_t>(getpid()), process_start_ns());
}

TraceFileWriter* open_trace() {
  InjectorState& st = state();
  Header header = make_header();
  auto* writer = new TraceFileWriter();
  std::string path;
  int error = 0;
  if (st.main_process) {
    // The program this process was before an exec keeps what it recorded,
    // under the name a process of its own would have; the main trace is the
    // program that runs now (the job, after a launcher's `exec`).
    // (A program that recorded nothing before its exec, as `sh -c "exec
    // python train.py"`, is replaced by the new one.)
    if (earlier_trace_here(st.output) == EarlierTrace::HasEvents) {
      for (int attempt = 0; attempt < 100; ++attempt) {
        const std::string kept = derived_path(header, st.output, attempt);
        if (link(st.output, kept.c_str()) == 0) {
          unlink(st.output);
          // The program it was did not end: it became this one.
          TraceFileWriter::end_abandoned(kept, trace::EndReason::Exec, 0, ticks());
          break;
        }
        if (errno != EEXIST) break;
      }
    }
    path = st.output;
    error = writer->open(path, header, false);
  } else {
    for (int attempt = 0; attempt < 100; ++attempt) {
      path = derived_path(header, st.output, attempt);
      error = writer->open(path, header, true);
      if (error != EEXIST) break;
      // A forked worker that recorded and then exec'd: its earlier program
      // did not end, it became this one.
      if (earlier_trace_here(path) != EarlierTrace::NotThisProcess) {
        TraceFileWriter::end_abandoned(path, trace::EndReason::Exec, 0, ticks());
      }
    }
  }
  const ClockAnchor now = anchor_clocks();
  if (error == 0 && !writer->claim(st.end_chunk, ThreadIndex{0}, now.ns, now.ticks)) error = ENOSPC;
  if (error != 0) {
    std::fprintf(stderr, "vramscope: cannot write trace '%s': %s; this process is not recorded\n", path.c_str(),
                 std::strerror(error));
    delete writer;
    return nullptr;
  }
  st.owner_pid = getpid();
  st.end_written.store(false);
  start_live_stream(writer);
  return writer;
}

}  // namespace

void read_settings() {
  InjectorState& st = state();
  if (const char* output = std::getenv("VRAMSCOPE_OUTPUT")) {
    // Made absolute now: the job may change directory before its first event.
    char here[2048];
    if (output[0] != '/' && output[0] && getcwd(here, sizeof here)) {
      std::snprintf(st.output, sizeof st.output, "%s/%s", here, output);
    } else {
      std::snprintf(st.output, sizeof st.output, "%s", output);
    }
  }
  const char* main_pid = std::getenv("VRAMSCOPE_MAIN_PID");
  st.main_process = st.output[0] && main_pid && std::atol(main_pid) == static_cast<long>(getpid());
  const char* stacks = std::getenv("VRAMSCOPE_STACKS");
  st.native_stacks = !(stacks && std::strcmp(stacks, "none") == 0);
  st.libgcc_unwinder = stacks && std::strcmp(stacks, "libgcc") == 0;
  const char* disabled = std::getenv("VRAMSCOPE_DISABLE");
  st.enabled = !(disabled && *disabled && std::strcmp(disabled, "0") != 0);
}

TraceFileWriter* open_trace_writer() {
  InjectorState& st = state();
  TraceFileWriter* writer = st.writer.load(std::memory_order_acquire);
  if (writer || !st.enabled || st.open_failed.load(std::memory_order_relaxed) || t_setting_up) return writer;
  t_setting_up = true;  // a signal handler's event on this thread meanwhile must not wait for the lock
  pthread_mutex_lock(&st.open_mutex);
  writer = st.writer.load(std::memory_order_acquire);
  if (!writer && !st.open_failed.load()) {
    writer = open_trace();
    if (writer) {
      st.writer.store(writer, std::memory_order_release);
    } else {
      st.open_failed.store(true);
    }
  }
  pthread_mutex_unlock(&st.open_mutex);
  t_setting_up = false;
  return writer;
}

}  // namespace vramscope::inject
