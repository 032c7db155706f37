// Benchmark: the time the injector adds per intercepted event and the trace
// bytes per event, on a cudaMalloc/cudaFree loop on simcuda, with heaptrack's
// cost on the same malloc/free loop measured in the same run as the
// reference. Figures go to docs/performance.md.
//
// usage: vramscope_overhead_bench [--iterations N] [--repeat R] [--markdown FILE]
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "formats/trace_reader.h"
#include "tests/support/subprocess.h"

namespace fs = std::filesystem;
using vramscope::testing::ProcessOptions;
using vramscope::testing::run_process;

namespace {

struct Config {
  std::string name;
  bool injector = false;
  std::string stacks = "none";
};

double ns_per_iteration(const std::string& out) {
  auto at = out.find("ns_per_iteration ");
  if (at == std::string::npos) return -1;
  return std::atof(out.c_str() + at + 17);
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values.empty() ? -1 : values[values.size() / 2];
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown CPU";
}

}  // namespace

int main(int argc, char** argv) {
  long iterations = 1'000'000;
  int repeat = 5;
  std::string markdown;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--iterations" && i + 1 < argc) {
      iterations = std::atol(argv[++i]);
    } else if (a == "--repeat" && i + 1 < argc) {
      repeat = std::atoi(argv[++i]);
    } else if (a == "--markdown" && i + 1 < argc) {
      markdown = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--iterations N] [--repeat R] [--markdown FILE]\n", argv[0]);
      return 2;
    }
  }
  fs::path work = fs::temp_directory_path() / ("vramscope-bench-" + std::to_string(getpid()));
  fs::create_directories(work);
  fs::path trace = work / "bench.vstrace";
  const std::string n = std::to_string(iterations);

  std::vector<Config> configs = {{"simcuda, no injector", false, "none"},
                                 {"injector, --stacks none", true, "none"},
                                 {"injector, --stacks native", true, "native"}};
  std::vector<std::vector<double>> times(configs.size());
  std::vector<double> bytes_per_event(configs.size(), 0);
  std::vector<double> plain_malloc, heaptrack_malloc;
  bool heaptrack_found = system("command -v heaptrack >/dev/null 2>&1") == 0;

  // Interleave the configurations so drift in the machine hits them alike.
  for (int r = 0; r < repeat; ++r) {
    std::fprintf(stderr, "round %d of %d\n", r + 1, repeat);
    for (size_t c = 0; c < configs.size(); ++c) {
      ProcessOptions options;
      options.set_env["LD_LIBRARY_PATH"] = VRAMSCOPE_SIMCUDA_DIR;
      if (configs[c].injector) {
        options.set_env["LD_PRELOAD"] = VRAMSCOPE_INJECTOR;
        options.set_env["VRAMSCOPE_OUTPUT"] = trace.string();
        options.set_env["VRAMSCOPE_STACKS"] = configs[c].stacks;
        options.mark_main_process = true;
      }
      auto result = run_process({VRAMSCOPE_ALLOC_LOOP, n}, options);
      double t = ns_per_iteration(result.out);
      if (result.exit_status != 0 || t < 0) {
        std::fprintf(stderr, "benchmark run failed (%s): %s\n", configs[c].name.c_str(), result.err.c_str());
        return 1;
      }
      times[c].push_back(t);
      if (configs[c].injector && r == 0) {
        auto contents = vramscope::trace::read_trace_file(trace.string());
        uint64_t events = contents.events.count();
        bytes_per_event[c] = static_cast<double>(contents.record_bytes) / static_cast<double>(events);
      }
    }
    auto plain = run_process({VRAMSCOPE_MALLOC_LOOP, n});
    plain_malloc.push_back(ns_per_iteration(plain.out));
    if (heaptrack_found) {
      auto traced = run_process({"heaptrack", "-o", (work / "heaptrack").string(), VRAMSCOPE_MALLOC_LOOP, n});
      heaptrack_malloc.push_back(ns_per_iteration(traced.out));
    }
  }

  // One iteration is two events: an allocation and a free.
  double base = median(times[0]);
  std::string table;
  char line[512];
  table += "| configuration | ns per iteration (median) | ns added per event | trace bytes per event |\n";
  table += "|---|---|---|---|\n";
  for (size_t c = 0; c < configs.size(); ++c) {
    double t = median(times[c]);
    double added = c == 0 ? 0 : (t - base) / 2;
    std::snprintf(line, sizeof line, "| %s | %.1f | %s | %s |\n", configs[c].name.c_str(), t,
                  c == 0 ? "—" : std::to_string(static_cast<int>(added + 0.5)).c_str(),
                  c == 0 ? "—" : (std::to_string(bytes_per_event[c]).substr(0, 4)).c_str());
    table += line;
  }
  double heaptrack_added = -1;
  if (heaptrack_found) {
    double plain_t = median(plain_malloc), traced_t = median(heaptrack_malloc);
    heaptrack_added = (traced_t - plain_t) / 2;
    std::snprintf(line, sizeof line, "| malloc/free, no tracer | %.1f | — | — |\n| malloc/free under heaptrack | %.1f | %d | — |\n",
                  plain_t, traced_t, static_cast<int>(heaptrack_added + 0.5));
    table += line;
  }
  double native_added = (median(times[2]) - base) / 2;
  double none_added = (median(times[1]) - base) / 2;
  std::string verdict;
  std::snprintf(line, sizeof line,
                "\nwithout stacks: %.0f ns added per event (goal: at most 50)\n"
                "native stacks: %.0f ns added per event, heaptrack %.0f ns in the same run (goal: no more; ratio %.2f)\n"
                "trace bytes per event: %.2f without stacks, %.2f with native stacks (goal: at most 8)\n",
                none_added, native_added, heaptrack_added, heaptrack_added > 0 ? native_added / heaptrack_added : 0.0,
                bytes_per_event[1], bytes_per_event[2]);
  verdict = line;
  struct utsname uts {};
  uname(&uts);
  std::string machine = cpu_model() + ", " + std::to_string(std::thread::hardware_concurrency()) + " cores, " +
                        uts.sysname + " " + uts.release;
  std::printf("machine: %s\n%d rounds of %ld iterations\n\n%s%s", machine.c_str(), repeat, iterations, table.c_str(),
              verdict.c_str());
  if (!markdown.empty()) {
    std::ofstream out(markdown);
    out << "Machine: " << machine << "; " << repeat << " rounds of " << iterations << " iterations.\n\n"
        << table << "\n```\n" << verdict << "```\n";
  }
  fs::remove_all(work);
  return 0;
}
