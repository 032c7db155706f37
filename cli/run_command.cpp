// `vramscope run`: starts a job with the injector preloaded (on simcuda when
// there is no GPU), waits for it, and says where the trace is.
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "cli/output_file.h"
#include "cli/run_summary.h"
#include "formats/human_size.h"
#include "formats/live_protocol.h"
#include "formats/snapshot_import.h"
#include "formats/snapshot_merge.h"
#include "formats/trace_contents_writer.h"

namespace vramscope::cli {

namespace {

namespace fs = std::filesystem;

constexpr const char* kRunUsage =
    "usage: vramscope run [options] [--] COMMAND [ARGS...]\n"
    "\n"
    "Runs COMMAND with the vramscope injector preloaded, records every GPU memory\n"
    "event with its call stack, and prints a short summary when it ends. Processes\n"
    "it starts (forks, ranks under torchrun/mpirun/srun) write their own traces\n"
    "beside the first, named by host, rank and pid.\n"
    "\n"
    "options:\n"
    "  -o, --output PATH      trace file, or a directory for it\n"
    "                         (default: ./vramscope-COMMAND.PID.vstrace)\n"
    "  --stacks native|libgcc|none\n"
    "                         record native call stacks (default: native, walked by\n"
    "                         libunwind; libgcc: by libgcc's slower unwinder, the\n"
    "                         one used where libunwind cannot be loaded)\n"
    "  --simulate[=SIZE]      run on simcuda, the simulated GPU, with SIZE of memory\n"
    "                         (default 16GiB); the default when no GPU driver is found\n"
    "  --live                 stream the trace while the job runs, for\n"
    "                         'vramscope view --attach' (a Unix socket in\n"
    "                         $VRAMSCOPE_LIVE_DIR, else $XDG_RUNTIME_DIR/vramscope,\n"
    "                         else /tmp/vramscope-UID; only this user can open it)\n"
    "  --backend preload|cupti\n"
    "                         how driver calls are seen: preloaded hooks (default),\n"
    "                         or CUPTI's callbacks, which also see programs linked\n"
    "                         with the static CUDA runtime; falls back to the hooks,\n"
    "                         saying so, when CUPTI is taken or missing\n"
    "  --python-stacks        Python jobs: the Python stack on every driver event\n"
    "                         (a profile function in each Python thread; costs\n"
    "                         time on every Python call, see docs/frameworks.md)\n"
    "  --per-buffer           make every tensor or buffer a driver allocation: PyTorch's\n"
    "                         backend:cudaMallocAsync, JAX's platform allocator,\n"
    "                         TensorFlow's cuda_malloc_async (see README: this\n"
    "                         changes how the job's memory is pooled)\n"
    "  -q, --quiet            print no summary\n"
    "  -h, --help             show this help\n"
    "\n"
    "The exit status is the command's.\n";

struct RunOptions {
  std::string output;
  std::string stacks = "native";
  bool simulate = false;
  std::optional<uint64_t> simulated_capacity;
  bool quiet = false;
  bool live = false;
  bool per_buffer = false;
  bool cupti = false;
  bool python_stacks = false;
  std::vector<std::string> command;
};

RunOptions parse_run_options(const Args& args) {
  RunOptions options;
  size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const char* flag) -> std::string {
      if (i + 1 >= args.size()) throw UsageError{std::string(flag) + " needs a value"};
      return args[++i];
    };
    if (a == "--") {
      ++i;
      break;
    }
    if (a == "-h" || a == "--help") {
      std::fputs(kRunUsage, stdout);
      std::exit(0);
    } else if (a == "-o" || a == "--output") {
      options.output = value("--output");
    } else if (a.rfind("--output=", 0) == 0) {
      options.output = a.substr(9);
    } else if (a == "--stacks" || a.rfind("--stacks=", 0) == 0) {
      std::string mode = a == "--stacks" ? value("--stacks") : a.substr(9);
      if (mode != "native" && mode != "libgcc" && mode != "none") {
        throw UsageError{"--stacks must be 'native', 'libgcc' or 'none', not '" + mode + "'"};
      }
      options.stacks = mode;
    } else if (a == "--simulate") {
      options.simulate = true;
    } else if (a.rfind("--simulate=", 0) == 0) {
      options.simulate = true;
      std::string size = a.substr(11);
      options.simulated_capacity = parse_size(size);
      if (!options.simulated_capacity || *options.simulated_capacity == 0) {
        throw UsageError{"bad size '" + size + "' for --simulate (examples: 16GiB, 512MiB)"};
      }
    } else if (a == "--live") {
      options.live = true;
    } else if (a == "--backend" || a.rfind("--backend=", 0) == 0) {
      std::string backend = a == "--backend" ? value("--backend") : a.substr(10);
      if (backend != "preload" && backend != "cupti") {
        throw UsageError{"--backend must be 'preload' or 'cupti', not '" + backend + "'"};
      }
      options.cupti = backend == "cupti";
    } else if (a == "--python-stacks") {
      options.python_stacks = true;
    } else if (a == "--per-buffer") {
      options.per_buffer = true;
    } else if (a == "-q" || a == "--quiet") {
      options.quiet = true;
    } else if (!a.empty() && a[0] == '-') {
      throw UsageError{"unknown option '" + a + "' for run (try 'vramscope run --help')"};
    } else {
      break;
    }
  }
  options.command.assign(args.begin() + static_cast<ptrdiff_t>(i), args.end());
  if (options.command.empty()) throw UsageError{"run needs a command to run (try 'vramscope run --help')"};
  return options;
}

fs::path own_directory() {
  std::error_code error;
  fs::path exe = fs::read_symlink("/proc/self/exe", error);
  if (error) throw UsageError{"cannot find where vramscope is installed: " + error.message(), 1};
  return exe.parent_path();
}

// The injector's folder, in the build tree or the installed tree.
fs::path library_directory() {
  fs::path bin = own_directory();
  for (const fs::path& candidate : {bin / ".." / "lib" / "vramscope", bin / ".." / VRAMSCOPE_INSTALL_LIBDIR / "vramscope"}) {
    if (fs::exists(candidate / "libvramscope_inject.so")) return fs::weakly_canonical(candidate);
  }
  throw UsageError{"cannot find libvramscope_inject.so next to " + bin.string() + " (is vramscope installed whole?)", 1};
}

// Why preloading `library` into the job would be unsafe, or "": a library, or
// any folder above it, that another user could replace (writable by others,
// a folder without the sticky bit, or owned by someone other than root or
// this user) would run that user's code in the job.
std::string unsafe_to_preload(const fs::path& library) {
  const uid_t me = getuid();
  fs::path path = library;
  for (bool file = true;; file = false) {
    struct stat st {};
    if (lstat(path.c_str(), &st) != 0) return path.string() + ": " + std::strerror(errno);
    const bool others_write = (st.st_mode & (file ? (S_IWGRP | S_IWOTH) : S_IWOTH)) != 0;
    const bool sticky_folder = !file && (st.st_mode & S_ISVTX) != 0;
    if (st.st_uid != 0 && st.st_uid != me) return path.string() + " belongs to another user";
    if (others_write && !sticky_folder) return path.string() + " is writable by other users";
    if (!path.has_relative_path()) return {};
    path = path.parent_path();
  }
}

// Asks, in a throwaway child, whether a real GPU driver answers.
bool real_gpu_present() {
  pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    int null_fd = open("/dev/null", O_WRONLY);
    if (null_fd >= 0) dup2(null_fd, STDERR_FILENO);
    void* driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!driver) _exit(1);
    auto init = reinterpret_cast<int (*)(unsigned)>(dlsym(driver, "cuInit"));
    auto count = reinterpret_cast<int (*)(int*)>(dlsym(driver, "cuDeviceGetCount"));
    int devices = 0;
    if (!init || !count || init(0) != 0 || count(&devices) != 0 || devices == 0) _exit(1);
    // simcuda's driver is no GPU, even if someone put it on the library path.
    auto name = reinterpret_cast<int (*)(char*, int, int)>(dlsym(driver, "cuDeviceGetName"));
    char text[256] = {};
    if (name && name(text, sizeof text - 1, 0) == 0 && std::strstr(text, "simulated")) _exit(1);
    _exit(0);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::string program_name(const std::string& command) {
  std::string name = fs::path(command).filename().string();
  return name.empty() ? "job" : name;
}

// The main trace's path for the job with process id `pid`.
std::string trace_path(const RunOptions& options, pid_t pid) {
  std::string file = "vramscope-" + program_name(options.command[0]) + "." + std::to_string(pid) + ".vstrace";
  fs::path base = options.output.empty() ? fs::current_path() : fs::absolute(options.output);
  std::error_code error;
  if (options.output.empty() || fs::is_directory(base, error) || options.output.back() == '/') {
    return (base / file).lexically_normal().string();
  }
  return base.lexically_normal().string();
}

void check_output_writable(const RunOptions& options) {
  fs::path target = options.output.empty() ? fs::current_path() : fs::absolute(options.output);
  std::error_code error;
  fs::path directory = fs::is_directory(target, error) ? target : target.parent_path();
  if (!fs::is_directory(directory, error)) {
    throw UsageError{"cannot write trace to " + target.string() + ": " + directory.string() + " is not a directory",
                     1};
  }
  if (access(directory.c_str(), W_OK | X_OK) != 0) {
    throw UsageError{"cannot write trace to " + target.string() + ": " + std::strerror(errno), 1};
  }
  if (!fs::is_directory(target, error) && fs::exists(target, error) && access(target.c_str(), W_OK) != 0) {
    throw UsageError{"cannot write trace to " + target.string() + ": " + std::strerror(errno), 1};
  }
}

void prepend_env(const char* name, const std::string& value, char separator) {
  const char* old = std::getenv(name);
  std::string joined = old && *old ? value + separator + old : value;
  setenv(name, joined.c_str(), 1);
}

// The frameworks' allocators in per-buffer mode: each tensor or buffer is its
// own driver allocation (cudaMallocAsync), so the driver-level trace is
// tensor-level. A setting of the user's own for the same thing is kept.
void set_per_buffer_environment() {
  const char* torch = std::getenv("PYTORCH_CUDA_ALLOC_CONF");
  if (!torch || !std::strstr(torch, "backend:"))
    prepend_env("PYTORCH_CUDA_ALLOC_CONF", "backend:cudaMallocAsync", ',');
  setenv("XLA_PYTHON_CLIENT_ALLOCATOR", "platform", 0);
  setenv("TF_GPU_ALLOCATOR", "cuda_malloc_async", 0);
}

// Merges what a framework hook wrote beside a trace (PyTorch's allocator
// history) into it; says so, or why not, on one line.
void merge_framework_record(const std::string& trace_file, bool quiet) {
  const std::string record = trace_file + ".torch.pickle";
  std::error_code error;
  if (!fs::exists(record, error)) return;
  try {
    trace::TraceContents native = trace::read_trace_file(trace_file);
    trace::SnapshotMerge merge = trace::merge_snapshot(native, trace::import_pytorch_snapshot(record));
    const std::string merged = trace_file + ".merging";
    trace::write_trace_file(merge.trace, merged);
    fs::rename(merged, trace_file);
    fs::remove(record, error);
    if (!quiet) {
      print_message("PyTorch's allocator: " + std::to_string(merge.blocks) + " tensor blocks merged into " +
                    trace_file + " (clock tied by " + std::to_string(merge.segments_matched) + " of " +
                    std::to_string(merge.segments_in_window) + " segments)");
    }
  } catch (const std::exception& e) {
    print_message("PyTorch's allocator history " + record + " not merged: " + e.what());
  }
}

pid_t g_job = 0;

void forward_signal(int signal_number) {
  if (g_job > 0) kill(g_job, signal_number);
}

}  // namespace

int run_command(const Args& args) {
  RunOptions options = parse_run_options(args);
  fs::path libraries = library_directory();
  // What the job will load of ours: the injector, the Python start-up hook.
  for (const char* part :
       {"libvramscope_inject.so", "python/sitecustomize.py", "python/vramscope_frameworks.py"}) {
    if (std::string why = unsafe_to_preload(libraries / part); !why.empty())
      throw UsageError{"refusing to load vramscope into the job: " + why, 1};
  }
  check_output_writable(options);

  bool simulate = options.simulate;
  if (!simulate && !real_gpu_present()) {
    simulate = true;
    if (!options.quiet) {
      std::fprintf(stderr, "vramscope: no GPU driver found: running on simcuda, the simulated GPU\n");
    }
  }
  if (simulate && !fs::exists(libraries / "simcuda" / "libcudart.so.13")) {
    throw UsageError{"simcuda is not installed in " + (libraries / "simcuda").string(), 1};
  }

  const std::string live_dir = options.live ? live::default_directory() : "";
  if (options.live) {
    if (std::string why = live::prepare_directory(live_dir); !why.empty())
      throw UsageError{"--live: " + why, 1};
  }

  int exec_pipe[2];
  if (pipe2(exec_pipe, O_CLOEXEC) != 0) throw UsageError{std::string("cannot start the job: ") + std::strerror(errno), 1};
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) throw UsageError{std::string("cannot start the job: ") + std::strerror(errno), 1};
  if (pid == 0) {
    close(exec_pipe[0]);
    prepend_env("LD_PRELOAD", (libraries / "libvramscope_inject.so").string(), ':');
    setenv("VRAMSCOPE_OUTPUT", trace_path(options, getpid()).c_str(), 1);  // absolute: the job may chdir
    setenv("VRAMSCOPE_MAIN_PID", std::to_string(getpid()).c_str(), 1);
    setenv("VRAMSCOPE_STACKS", options.stacks.c_str(), 1);
    if (options.live) setenv("VRAMSCOPE_LIVE", "1", 1);
    // Python jobs import our start-up hook (PyTorch's tensors, docs/frameworks.md).
    prepend_env("PYTHONPATH", (libraries / "python").string(), ':');
    if (options.per_buffer) set_per_buffer_environment();
    if (options.python_stacks) setenv("VRAMSCOPE_PYTHON_STACKS", "1", 1);
    if (options.cupti) {
      // The driver starts the library CUDA_INJECTION64_PATH names: ours,
      // unless another tool's is there already.
      const std::string injector = (libraries / "libvramscope_inject.so").string();
      const char* taken = std::getenv("CUDA_INJECTION64_PATH");
      if (taken && *taken && injector != taken) {
        print_message(std::string("no CUPTI backend: CUDA_INJECTION64_PATH names another tool (") + taken +
                      "); recording through the preload path");
      } else {
        setenv("VRAMSCOPE_BACKEND", "cupti", 1);
        setenv("CUDA_INJECTION64_PATH", injector.c_str(), 1);
      }
    }
    // The injector is also the NVTX tool (ranges, marks, allocators' blocks),
    // unless the user already attached another one.
    setenv("NVTX_INJECTION64_PATH", (libraries / "libvramscope_inject.so").c_str(), 0);
    if (simulate) {
      prepend_env("LD_LIBRARY_PATH", (libraries / "simcuda").string(), ':');
      if (options.simulated_capacity) {
        setenv("VRAMSCOPE_SIM_CAPACITY", std::to_string(*options.simulated_capacity).c_str(), 1);
      }
    }
    std::vector<char*> argv;
    for (const auto& a : options.command) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    int error = errno;
    (void)!write(exec_pipe[1], &error, sizeof error);
    _exit(127);
  }
  close(exec_pipe[1]);
  int exec_error = 0;
  ssize_t got;
  while ((got = read(exec_pipe[0], &exec_error, sizeof exec_error)) < 0 && errno == EINTR) {
  }
  close(exec_pipe[0]);
  if (got == static_cast<ssize_t>(sizeof exec_error)) {
    waitpid(pid, nullptr, 0);
    print_message("cannot run '" + options.command[0] + "': " + std::strerror(exec_error));
    return 127;
  }

  if (options.live && !options.quiet) {
    print_message("live: vramscope view --attach " + live::socket_path(live_dir, pid));
  }

  // The terminal sends ^C to the job as well; the job decides what it means.
  g_job = pid;
  signal(SIGINT, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  signal(SIGTERM, forward_signal);
  signal(SIGHUP, forward_signal);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) break;
  }
  int exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (WIFSIGNALED(status) && !options.quiet) {
    std::fprintf(stderr, "vramscope: the job was killed by signal %d (%s)\n", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
  }
  for (const std::string& trace_file : traces_of_run(trace_path(options, pid)))
    merge_framework_record(trace_file, options.quiet);
  if (!options.quiet) print_run_summary(trace_path(options, pid), stderr);
  return exit_status;
}

}  // namespace vramscope::cli
