// Benchmark: reading a PyTorch memory snapshot pickle with our data-only
// reader against CPython's pickle.load of the same file: wall time, trace
// entries per second and peak memory of each, in child processes timed in
// turn. The snapshot comes from scripts/make_snapshot.py.
//
// usage: vramscope_pickle_bench [--size 1GiB] [--repeat R] [--seed S] [--input FILE] [--dir DIR] [--keep]
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/tool_main.h"
#include "formats/pickle.h"
#include "tests/support/subprocess.h"

namespace fs = std::filesystem;
using vramscope::bench::fixed;
using vramscope::bench::median;
using vramscope::bench::UsageError;

namespace {

constexpr const char* kUsage =
    "usage: vramscope_pickle_bench [--size 1GiB] [--repeat R] [--seed S] [--shared-frames] [--input FILE]\n"
    "                              [--dir DIR] [--keep]\n"
    "\n"
    "Writes a synthetic snapshot pickle of SIZE with scripts/make_snapshot.py (or\n"
    "takes FILE), each trace entry with frame dicts of its own, as the stacks\n"
    "of C++ allocations give them (--shared-frames: dicts shared between entries,\n"
    "as PyTorch's frame cache shares Python frames), then reads it R times\n"
    "each, in turn, with\n"
    "  python3 -c 'import pickle,sys; pickle.load(open(sys.argv[1],\"rb\"))'\n"
    "with vramscope's reader (this program, --read FILE, which also counts\n"
    "the trace entries and sums their sizes), and with the whole of\n"
    "'vramscope report FILE --json /dev/null' (read, import, analyze, report), and\n"
    "prints the medians of wall\n"
    "time, entries per second and the largest peak resident memory of each.\n"
    "\n"
    "options:\n"
    "  --size SIZE      snapshot size for make_snapshot.py, e.g. 200MiB (default 1GiB)\n"
    "  --repeat R       runs of each reader (default 3)\n"
    "  --seed S         make_snapshot.py's seed (default 1)\n"
    "  --shared-frames  frame dicts shared between entries\n"
    "  --input FILE     read this snapshot instead of making one\n"
    "  --dir DIR        where to write the snapshot (default: the temporary directory)\n"
    "  --keep           keep the snapshot\n"
    "  --help           show this help\n";

struct Options {
  std::string size = "1GiB";
  int repeat = 3;
  int seed = 1;
  bool shared_frames = false;
  std::string input;
  std::string dir;
  bool keep = false;
  std::string read_only;  // the hidden mode: read this file and say what it holds
};

std::optional<Options> parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw UsageError{arg + " needs a value"};
      return argv[++i];
    };
    auto number = [&](const std::string& text) {
      try {
        int n = std::stoi(text);
        if (n > 0) return n;
      } catch (const std::exception&) {
      }
      throw UsageError{arg + " wants a positive number, not '" + text + "'"};
    };
    if (arg == "--help" || arg == "-h") {
      return std::nullopt;
    } else if (arg == "--size") {
      o.size = value();
    } else if (arg == "--repeat") {
      o.repeat = number(value());
    } else if (arg == "--seed") {
      o.seed = number(value());
    } else if (arg == "--shared-frames") {
      o.shared_frames = true;
    } else if (arg == "--input") {
      o.input = value();
    } else if (arg == "--dir") {
      o.dir = value();
    } else if (arg == "--keep") {
      o.keep = true;
    } else if (arg == "--read") {
      o.read_only = value();
    } else {
      throw UsageError{"unknown argument '" + arg + "'"};
    }
  }
  return o;
}

struct BenchError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The hidden mode: what our reader does with a snapshot, timed from outside.
int read_snapshot(const std::string& path) {
  using namespace vramscope::pickle;
  Document doc = Document::read_file(path);
  uint64_t entries = 0, bytes = 0;
  if (std::optional<Value> traces = doc.root().find("device_traces")) {
    for (size_t d = 0; d < traces->size(); ++d) {
      Value trace = traces->at(d);
      for (size_t i = 0; i < trace.size(); ++i, ++entries) {
        if (std::optional<Value> size = trace.at(i).find("size")) bytes += size->as_uint();
      }
    }
  }
  std::printf("entries %llu bytes %llu values %zu\n", static_cast<unsigned long long>(entries),
              static_cast<unsigned long long>(bytes), doc.value_count());
  return 0;
}

struct Run {
  double seconds = 0;
  uint64_t max_rss_bytes = 0;
  std::string out;
};

// Runs `argv` with its output in `out_path`, and measures it.
Run timed(const std::vector<std::string>& argv, const std::string& out_path) {
  auto start = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid < 0) throw BenchError{std::string("fork: ") + std::strerror(errno)};
  if (pid == 0) {
    int out_fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out_fd < 0) _exit(126);
    dup2(out_fd, STDOUT_FILENO);
    dup2(out_fd, STDERR_FILENO);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    std::fprintf(stderr, "cannot run %s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  while (wait4(pid, &status, 0, &usage) < 0) {
    if (errno != EINTR) throw BenchError{std::string("wait4: ") + std::strerror(errno)};
  }
  Run run;
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  run.max_rss_bytes = static_cast<uint64_t>(usage.ru_maxrss) * 1024;  // Linux counts KiB
  std::FILE* f = std::fopen(out_path.c_str(), "r");
  if (f != nullptr) {
    char buffer[4096];
    while (size_t n = std::fread(buffer, 1, sizeof buffer, f)) run.out.append(buffer, n);
    std::fclose(f);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw BenchError{argv[0] + " failed: " + run.out.substr(0, run.out.find('\n'))};
  }
  return run;
}

uint64_t figure(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  for (std::string word; in >> word;) {
    uint64_t value = 0;
    if (word == name && in >> value) return value;
  }
  throw BenchError{"no '" + name + "' in: " + text.substr(0, 200)};
}

int run(const Options& o) {
  if (!o.read_only.empty()) return read_snapshot(o.read_only);
  fs::path dir = o.dir.empty() ? fs::temp_directory_path() : fs::path(o.dir);
  fs::path snapshot = o.input.empty()
                          ? dir / ("vramscope-pickle-bench-" + std::to_string(getpid()) + ".pickle")
                          : fs::path(o.input);
  fs::path out = dir / ("vramscope-pickle-bench-" + std::to_string(getpid()) + ".out");
  struct Cleanup {
    fs::path snapshot, out;
    bool remove_snapshot;
    ~Cleanup() {
      std::error_code ignored;
      fs::remove(out, ignored);
      if (remove_snapshot) fs::remove(snapshot, ignored);
    }
  } cleanup{snapshot, out, o.input.empty() && !o.keep};

  uint64_t written_entries = 0;
  if (o.input.empty()) {
    std::fprintf(stderr, "writing a %s snapshot to %s\n", o.size.c_str(), snapshot.c_str());
    auto start = std::chrono::steady_clock::now();
    std::vector<std::string> command = {
        "python3",  VRAMSCOPE_MAKE_SNAPSHOT, "--size", o.size,
        "--output", snapshot.string(),       "--seed", std::to_string(o.seed)};
    if (!o.shared_frames) command.push_back("--distinct-frames");
    auto made = vramscope::testing::run_process(command);
    if (made.exit_status != 0) throw BenchError{"make_snapshot.py failed: " + made.err.substr(0, 300)};
    written_entries = figure(made.out, "entries");
    std::fprintf(stderr, "written in %.1f s\n",
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  uint64_t file_bytes = fs::file_size(snapshot);
  std::string self = fs::read_symlink("/proc/self/exe").string();
  std::vector<double> python_s, ours_s, report_s;
  uint64_t python_rss = 0, ours_rss = 0, report_rss = 0, entries = 0;
  for (int r = 0; r < o.repeat; ++r) {
    std::fprintf(stderr, "run %d of %d\n", r + 1, o.repeat);
    Run py =
        timed({"python3", "-c", "import pickle,sys; pickle.load(open(sys.argv[1],'rb'))", snapshot.string()},
              out.string());
    python_s.push_back(py.seconds);
    python_rss = std::max(python_rss, py.max_rss_bytes);
    Run ours = timed({self, "--read", snapshot.string()}, out.string());
    ours_s.push_back(ours.seconds);
    ours_rss = std::max(ours_rss, ours.max_rss_bytes);
    entries = figure(ours.out, "entries");
    // The whole job a user asks for: read, import, analyze, write the JSON report.
    Run report = timed({VRAMSCOPE_BIN, "report", snapshot.string(), "--json", "/dev/null"}, out.string());
    report_s.push_back(report.seconds);
    report_rss = std::max(report_rss, report.max_rss_bytes);
  }
  if (written_entries != 0 && entries != written_entries) {
    throw BenchError{"our reader found " + std::to_string(entries) +
                     " trace entries, make_snapshot.py wrote " + std::to_string(written_entries)};
  }
  double file_mib = static_cast<double>(file_bytes) / (1 << 20);
  auto line = [&](const char* who, double seconds, uint64_t rss) {
    std::printf("| %s | %s s | %s M | %s MiB/s | %s MiB | %s |\n", who, fixed(seconds, 2).c_str(),
                fixed(static_cast<double>(entries) / seconds / 1e6, 2).c_str(),
                fixed(file_mib / seconds, 0).c_str(), fixed(static_cast<double>(rss) / (1 << 20), 0).c_str(),
                fixed(static_cast<double>(rss) / static_cast<double>(file_bytes), 2).c_str());
  };
  std::printf("snapshot: %s MiB, %llu trace entries; %d runs of each, medians\n\n",
              fixed(file_mib, 1).c_str(), static_cast<unsigned long long>(entries), o.repeat);
  std::printf(
      "| reader | wall time | entries per second | read speed | peak RSS | RSS / file "
      "|\n|---|---|---|---|---|---|\n");
  line("python3 pickle.load", median(python_s), python_rss);
  line("vramscope's reader", median(ours_s), ours_rss);
  line("vramscope report --json", median(report_s), report_rss);
  std::printf("\nvramscope's reader is %sx as fast as pickle.load, in %sx its memory; the whole report %sx\n",
              fixed(median(python_s) / median(ours_s), 1).c_str(),
              fixed(static_cast<double>(ours_rss) / static_cast<double>(python_rss), 2).c_str(),
              fixed(median(python_s) / median(report_s), 1).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return vramscope::bench::tool_main("vramscope_pickle_bench", kUsage, argc, argv, parse_options, run);
}
