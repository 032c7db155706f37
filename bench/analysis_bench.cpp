// Benchmark: how fast `vramscope report` analyzes a large trace on one core,
// and its peak memory, against the least any reader must do with the same
// file (read it and check every byte). Traces come from
// vramscope_trace_generator. Figures go to docs/performance.md.
//
// usage: vramscope_analysis_bench [--events 10M,100M] [--live N] [--repeat R]
//                                 [--dir DIR] [--keep] [--verify] [--pin] [--markdown FILE]
#include <fcntl.h>
#include <libdeflate.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench/event_count.h"
#include "bench/generator_figures.h"
#include "bench/tool_main.h"
#include "tests/support/subprocess.h"

namespace fs = std::filesystem;
using vramscope::bench::count_label;
using vramscope::bench::fixed;
using vramscope::bench::median;
using vramscope::bench::parse_count;
using vramscope::bench::UsageError;

namespace {

constexpr const char* kUsage =
    "usage: vramscope_analysis_bench [--events 10M,100M] [--live N] [--repeat R]\n"
    "                                [--dir DIR] [--keep] [--verify] [--pin] [--markdown FILE]\n"
    "\n"
    "For each trace size, writes a synthetic training-job trace with\n"
    "vramscope_trace_generator, then times 'vramscope report TRACE --json -'\n"
    "(output to /dev/null) and its peak resident memory, against a plain read\n"
    "of the same file (read() in 1 MiB blocks and libdeflate's crc32 over every\n"
    "byte, as the reader checks them) timed in the same run. Medians of R runs,\n"
    "interleaved. The report's CPU time shows whether it used more than one core.\n"
    "\n"
    "options:\n"
    "  --events LIST    trace sizes, comma-separated (default 10M,100M)\n"
    "  --live N         long-lived allocations of the traces (generator default: 1M)\n"
    "  --repeat R       runs of each measure (default 3)\n"
    "  --dir DIR        where to write the traces (default: a fresh temporary directory)\n"
    "  --keep           keep the traces\n"
    "  --verify         run the report once more and check its peak, live-at-exit bytes,\n"
    "                   event count and iterations against the generator's figures\n"
    "  --pin            run everything on one CPU (on a busy machine, slower)\n"
    "  --markdown FILE  also write the table to FILE\n"
    "  --help           show this help\n";

struct Options {
  std::vector<uint64_t> sizes = {10'000'000, 100'000'000};
  std::optional<uint64_t> live;
  int repeat = 3;
  std::string dir;
  bool keep = false;
  bool verify = false;
  bool pin = false;
  std::string markdown;
};

std::optional<Options> parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw UsageError{arg + " needs a value"};
      return argv[++i];
    };
    auto count = [&](const std::string& text) {
      std::optional<uint64_t> n = parse_count(text);
      if (!n || *n == 0) throw UsageError{arg + " wants a count such as 10M or 200k, not '" + text + "'"};
      return *n;
    };
    if (arg == "--help" || arg == "-h") {
      return std::nullopt;
    } else if (arg == "--events") {
      o.sizes.clear();
      std::stringstream list(value());
      for (std::string item; std::getline(list, item, ',');) o.sizes.push_back(count(item));
      if (o.sizes.empty()) throw UsageError{"--events needs at least one size"};
    } else if (arg == "--live") {
      o.live = count(value());
    } else if (arg == "--repeat") {
      o.repeat = static_cast<int>(count(value()));
    } else if (arg == "--dir") {
      o.dir = value();
    } else if (arg == "--markdown") {
      o.markdown = value();
    } else if (arg == "--keep") {
      o.keep = true;
    } else if (arg == "--verify") {
      o.verify = true;
    } else if (arg == "--pin") {
      o.pin = true;
    } else {
      throw UsageError{"unknown argument '" + arg + "'"};
    }
  }
  return o;
}

// A failure of the benchmark itself (a file, a child process).
struct BenchError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// What every reader must at least do: bring each byte in and look at it.
double read_baseline(const std::string& path) {
  auto start = std::chrono::steady_clock::now();
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw BenchError{"cannot read " + path + ": " + std::strerror(errno)};
  std::vector<unsigned char> block(1 << 20);
  uint32_t crc = 0;
  for (;;) {
    ssize_t n = read(fd, block.data(), block.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    crc = libdeflate_crc32(crc, block.data(), static_cast<size_t>(n));
  }
  close(fd);
  // The same CRC-32 the trace reader checks chunks with, a call into
  // libdeflate the compiler cannot drop: the sum itself is not needed.
  (void)crc;
  return seconds_since(start);
}

struct ReportRun {
  double seconds = 0;
  double cpu_seconds = 0;
  uint64_t max_rss_bytes = 0;
};

// `vramscope report TRACE --json -`, output to /dev/null, errors to `err_path`.
ReportRun time_report(const std::string& trace, const std::string& err_path) {
  auto start = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid < 0) throw BenchError{std::string("fork: ") + std::strerror(errno)};
  if (pid == 0) {
    int null_fd = open("/dev/null", O_RDWR);
    int err_fd = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (null_fd < 0 || err_fd < 0) _exit(126);
    dup2(null_fd, STDIN_FILENO);
    dup2(null_fd, STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    execl(VRAMSCOPE_BIN, "vramscope", "report", trace.c_str(), "--json", "-", static_cast<char*>(nullptr));
    std::fprintf(stderr, "cannot run %s: %s\n", VRAMSCOPE_BIN, std::strerror(errno));
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  while (wait4(pid, &status, 0, &usage) < 0) {
    if (errno != EINTR) throw BenchError{std::string("wait4: ") + std::strerror(errno)};
  }
  ReportRun run;
  run.seconds = seconds_since(start);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::ifstream in(err_path);
    std::string first_line;
    std::getline(in, first_line);
    throw BenchError{"vramscope report " + trace + " failed (" +
                     (WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                                          : "exit status " + std::to_string(WEXITSTATUS(status))) +
                     "): " + first_line};
  }
  auto to_seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  run.cpu_seconds = to_seconds(usage.ru_utime) + to_seconds(usage.ru_stime);
  run.max_rss_bytes = static_cast<uint64_t>(usage.ru_maxrss) * 1024;  // Linux counts KiB
  return run;
}

// The report's figures against the generator's; returns the mismatches.
std::string verify(const std::string& trace, const std::map<std::string, uint64_t>& expected) {
  auto result = vramscope::testing::run_process({VRAMSCOPE_BIN, "report", trace, "--json", "-"});
  if (result.exit_status != 0) return "report failed: " + result.err.substr(0, result.err.find('\n'));
  nlohmann::json r = nlohmann::json::parse(result.out);
  std::string problems;
  auto check = [&](const char* what, const nlohmann::json& got, uint64_t want) {
    if (!got.is_number_unsigned() || got.get<uint64_t>() != want) {
      problems += std::string(problems.empty() ? "" : "; ") + what + " " + got.dump() + ", expected " +
                  std::to_string(want);
    }
  };
  check("peak bytes", r["devices"][0]["peak"]["bytes"], expected.at("peak_bytes"));
  check("live at exit bytes", r["devices"][0]["live_at_exit_bytes"], expected.at("live_at_exit_bytes"));
  check("events", r["counts"]["events"], expected.at("events"));
  check("iterations", r["iterations"]["count"], expected.at("iterations"));
  return problems;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown CPU";
}

// Pins this process, and so every child, to the last CPU it may run on.
std::string pin_to_one_cpu() {
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return "not pinned";
  int last = -1;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &allowed)) last = c;
  }
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(last, &one);
  if (last < 0 || sched_setaffinity(0, sizeof one, &one) != 0) return "not pinned";
  return "pinned to CPU " + std::to_string(last);
}

std::string mib(uint64_t bytes) { return fixed(static_cast<double>(bytes) / (1 << 20), 1) + " MiB"; }

std::string duration(double seconds) {
  return seconds < 1 ? fixed(seconds * 1e3, 1) + " ms" : fixed(seconds, 2) + " s";
}

// Removes the traces (and the directory, when the benchmark made it) however
// the run ends, unless --keep.
struct Cleanup {
  fs::path dir;
  bool own_dir = false;
  bool keep = false;
  std::vector<fs::path> files;
  ~Cleanup() {
    std::error_code ignored;
    fs::remove(dir / "report.err", ignored);
    if (keep) return;
    for (const fs::path& f : files) fs::remove(f, ignored);
    if (own_dir) fs::remove_all(dir, ignored);
  }
};

int run(const Options& o) {
  std::string pinning = o.pin ? pin_to_one_cpu() : "not pinned";
  bool own_dir = o.dir.empty();
  fs::path dir = own_dir
                     ? fs::temp_directory_path() / ("vramscope-analysis-bench-" + std::to_string(getpid()))
                     : fs::path(o.dir);
  fs::create_directories(dir);
  Cleanup cleanup{dir, own_dir, o.keep, {}};

  std::string table =
      "| events | trace file | generation | read + crc32 | report | events per second | report CPU "
      "| peak RSS | report / read |\n"
      "|---|---|---|---|---|---|---|---|---|\n";
  std::string verdicts;
  for (uint64_t events : o.sizes) {
    fs::path trace = dir / ("analysis-" + count_label(events) + ".vstrace");
    cleanup.files.push_back(trace);
    std::vector<std::string> command = {VRAMSCOPE_TRACE_GENERATOR, "--events", std::to_string(events),
                                        "--output", trace.string()};
    if (o.live) command.insert(command.end(), {"--live", std::to_string(*o.live)});
    std::fprintf(stderr, "%s events: generating %s\n", count_label(events).c_str(), trace.c_str());
    auto start = std::chrono::steady_clock::now();
    auto generated = vramscope::testing::run_process(command);
    double generation = seconds_since(start);
    if (generated.exit_status != 0) {
      std::string why = generated.err.substr(0, generated.err.find('\n'));
      throw BenchError{"the generator failed: " + why};
    }
    std::map<std::string, uint64_t> expected = vramscope::bench::generator_figures(generated.err);
    uint64_t file_bytes = fs::file_size(trace);

    std::vector<double> read_times, report_times, cpu_times;
    uint64_t max_rss = 0;
    for (int r = 0; r < o.repeat; ++r) {
      std::fprintf(stderr, "%s events: run %d of %d\n", count_label(events).c_str(), r + 1, o.repeat);
      read_times.push_back(read_baseline(trace.string()));
      ReportRun report = time_report(trace.string(), (dir / "report.err").string());
      report_times.push_back(report.seconds);
      cpu_times.push_back(report.cpu_seconds);
      max_rss = std::max(max_rss, report.max_rss_bytes);
    }
    double read_s = median(read_times), report_s = median(report_times);
    double rate = static_cast<double>(events) / report_s;
    table += "| " + count_label(events) + " | " + mib(file_bytes) + " | " + duration(generation) + " | " +
             duration(read_s) + " (" + fixed(static_cast<double>(file_bytes) / read_s / 1e9, 2) +
             " GB/s) | " + duration(report_s) + " | " + fixed(rate / 1e6, 2) + " M | " +
             duration(median(cpu_times)) + " | " + mib(max_rss) + " | " + fixed(report_s / read_s, 1) +
             " |\n";
    verdicts += count_label(events) + " events: " + fixed(rate / 1e6, 2) +
                " M events/s (goal: at least 20), peak RSS " +
                fixed(static_cast<double>(max_rss) / (1ull << 30), 2) + " GiB (goal: under 2)";
    // Each run's time as well: on a shared machine one slow run is noise, all of them is not.
    std::string runs;
    for (double seconds : report_times) runs += (runs.empty() ? "" : ", ") + duration(seconds);
    verdicts += "; report runs " + runs;
    double cores = median(cpu_times) / report_s;
    if (cores > 1.05) verdicts += "; it kept " + fixed(cores, 1) + " cores busy, not one";
    if (o.verify) {
      std::string problems = verify(trace.string(), expected);
      verdicts += problems.empty() ? "; report figures match the generator's" : "; MISMATCH: " + problems;
    }
    verdicts += "\n";
    if (!o.keep) fs::remove(trace);
  }

  utsname uts{};
  uname(&uts);
  std::string machine = cpu_model() + ", " + std::to_string(std::thread::hardware_concurrency()) +
                        " cores (" + pinning + "), " + uts.sysname + " " + uts.release;
  std::string live = o.live ? std::to_string(*o.live) : "1000000";
  std::printf("machine: %s\n%d runs of each, medians; %s long-lived allocations\n\n%s\n%s", machine.c_str(),
              o.repeat, live.c_str(), table.c_str(), verdicts.c_str());
  if (o.keep) std::printf("traces kept in %s\n", dir.c_str());
  if (!o.markdown.empty()) {
    std::ofstream out(o.markdown);
    out << "Machine: " << machine << "; " << o.repeat << " runs of each, medians; " << live
        << " long-lived allocations.\n\n"
        << table << "\n```\n"
        << verdicts << "```\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return vramscope::bench::tool_main("vramscope_analysis_bench", kUsage, argc, argv, parse_options, run);
}
