// Event recording: the hot path from a hook to bytes in the shared mapping.
#include "injector/recorder.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>

#include "injector/clock.h"
#include "injector/modules.h"
#include "injector/python_stacks.h"
#include "injector/real_functions.h"
#include "injector/trace_open.h"
#include "injector/unwinder.h"

namespace vramscope::inject {

using namespace vramscope::trace;

namespace {

// Says once that the disk is full: events from then on are lost, the job
// goes on. (write(2) alone: this runs inside the job's calls.)
void say_out_of_space(const TraceFileWriter* writer) {
  static std::atomic<bool> said{false};
  if (said.exchange(true)) return;
  char line[512];
  int n = std::snprintf(line, sizeof line,
                        "vramscope: no space left for the trace %s: events from now on are not recorded; "
                        "the job goes on\n",
                        writer->path().c_str());
  if (n > 0) (void)!write(STDERR_FILENO, line, std::min<size_t>(static_cast<size_t>(n), sizeof line - 1));
}

bool claim_chunk(ThreadState* ts, TraceFileWriter* writer) {
  // Anchored no later than the event being written: its stamp may be older
  // than this claim (a free is stamped before the driver's call).
  const ClockAnchor now = anchor_back_to(anchor_clocks(), ts->pending_ticks);
  if (!writer->claim(ts->chunk, ts->index, now.ns, now.ticks)) {
    if (writer->out_of_space()) say_out_of_space(writer);
    return false;
  }
  if (!ts->announced) {
    char name[64] = {};
    pthread_getname_np(pthread_self(), name, sizeof name);
    ts->chunk.encoder.thread(ts->index, static_cast<uint64_t>(gettid()), name);
    ts->announced = true;
  }
  return true;
}

// Runs `write(encoder)` in the thread's chunk, moving to a fresh chunk when
// this one is full.
template <typename Write>
bool emit(ThreadState* ts, TraceFileWriter* writer, Write&& write) {
  if (!ts->chunk.head && !claim_chunk(ts, writer)) return false;
  if (write(ts->chunk.encoder)) return true;
  writer->seal(ts->chunk);
  return claim_chunk(ts, writer) && write(ts->chunk.encoder);
}

struct EmitTarget {
  ThreadState* ts;
  TraceFileWriter* writer;
};

bool write_module(void* context, std::string_view path, uint64_t base, uint64_t start, uint64_t end,
                  std::string_view build_id) {
  auto* target = static_cast<EmitTarget*>(context);
  return emit(target->ts, target->writer,
              [&](ChunkEncoder& e) { return e.module(path, base, start, end, build_id); });
}

uint64_t stack_hash(void* const* frames, int count) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (int i = 0; i < count; ++i) {
    h ^= reinterpret_cast<uint64_t>(frames[i]);
    h *= 0x100000001b3ull;
    h ^= h >> 31;
  }
  return h | 1;  // never 0, the empty cache entry
}

// Stack tree keys of Python frames: their FrameId with the top bit set, which
// no native return address has.
constexpr uint64_t kPythonFrameKey = uint64_t{1} << 63;

StringId string_id(ThreadState* ts, TraceFileWriter* writer, std::string_view text) {
  return state().strings.intern(text, [&](StringId id, std::string_view defined) {
    emit(ts, writer, [&](ChunkEncoder& e) { return e.string(id, defined); });
  });
}

// The calling thread's Python frames (python_stacks.h) as stack nodes,
// outermost first: the innermost's id, or the invalid id for none.
StackId python_stack(ThreadState* ts, TraceFileWriter* writer) {
  InjectorState& st = state();
  StackId node{};
  for (int i = 0, depth = python_depth(ts); i < depth; ++i) {
    const PythonFrame f = python_frame(ts, i);
    if (f.key == 0) continue;
    StackId frame = st.python_frames.insert(StackId{}, f.key, [&](StackId id, StackId, uint64_t) {
      StringId function = string_id(ts, writer, f.function);
      StringId file = string_id(ts, writer, f.file);
      emit(ts, writer, [&](ChunkEncoder& e) { return e.frame(FrameId{id.value}, function, file, f.line); });
    });
    if (!frame.valid()) break;
    StackId next =
        st.stacks.insert(node, kPythonFrameKey | frame.value, [&](StackId id, StackId parent, uint64_t) {
          emit(ts, writer,
               [&](ChunkEncoder& e) { return e.stack_frame_node(id, parent, FrameId{frame.value}); });
        });
    if (!next.valid()) break;
    node = next;
  }
  return node;
}

StackId walk_stack(ThreadState* ts, TraceFileWriter* writer) {
  InjectorState& st = state();
  int raw = ts->early_frames >= 0 ? ts->early_frames : backtrace_frames(ts->frames, kMaxFrames);
  // Our own frames (hooks, the recorder, the main wrapper) say nothing about
  // the job: drop them wherever they are.
  int count = 0;
  for (int i = 0; i < raw; ++i) {
    if (!in_own_code(reinterpret_cast<uint64_t>(ts->frames[i]))) ts->frames[count++] = ts->frames[i];
  }
  // Under Python frames, only the native frames inside the interpreter: the
  // Python frames stand for the interpreter's own.
  StackId python{};
  if (python_stacks_on() && ts->python_depth > 0) {
    int inside = 0;
    while (inside < count && !in_interpreter(reinterpret_cast<uint64_t>(ts->frames[inside]))) ++inside;
    if (inside < count) count = inside;
    python = python_stack(ts, writer);
  }
  if (ts->early_frames >= 0) ts->early_frames = count;  // compacted: the next event of this call reuses it
  if (count == 0 && !python.valid()) return {};
  uint64_t hash = stack_hash(ts->frames, count) ^ (uint64_t{python.value} * 0x9e3779b97f4a7c15ull);
  hash |= 1;
  StackCacheEntry& cached = ts->stack_cache[hash % kStackCacheSize];
  if (cached.hash == hash) return StackId{cached.id};

  StackId node = python;
  for (int i = count - 1; i >= 0; --i) {
    uint64_t ip = reinterpret_cast<uint64_t>(ts->frames[i]);
    StackId next = st.stacks.insert(node, ip, [&](StackId id, StackId parent, uint64_t address) {
      EmitTarget target{ts, writer};
      note_module_of(address, write_module, &target);
      emit(ts, writer, [&](ChunkEncoder& e) { return e.stack_node(id, parent, address); });
    });
    if (!next.valid()) break;  // the table is full: keep the outer part
    node = next;
  }
  cached.hash = hash;
  cached.id = node.value;
  return node;
}

inline StackId capture_stack(ThreadState* ts, TraceFileWriter* writer) {
  if (state().native_stacks) return walk_stack(ts, writer);
  return python_stacks_on() ? python_stack(ts, writer) : StackId{};
}

// The first event on a device writes what the device is.
void note_device(ThreadState* ts, TraceFileWriter* writer, int ordinal) {
  if (ordinal < 0 || ordinal >= kMaxDevices) return;
  uint64_t bit = uint64_t{1} << ordinal;
  InjectorState& st = state();
  if (st.devices_seen.load(std::memory_order_relaxed) & bit) return;
  if (st.devices_seen.fetch_or(bit) & bit) return;
  DeviceInfo info;
  info.ordinal = static_cast<uint32_t>(ordinal);
  auto device_get = real_driver_as<CUresult (*)(CUdevice*, int)>(DriverFn::cuDeviceGet);
  auto get_name = real_driver_as<CUresult (*)(char*, int, CUdevice)>(DriverFn::cuDeviceGetName);
  auto total_mem = real_driver_as<CUresult (*)(size_t*, CUdevice)>(DriverFn::cuDeviceTotalMem_v2);
  CUdevice device = 0;
  char name[256] = {};
  size_t total = 0;
  if (device_get && device_get(&device, ordinal) == CUDA_SUCCESS) {
    if (get_name) get_name(name, sizeof name - 1, device);
    if (total_mem) total_mem(&total, device);
  }
  info.name = name[0] ? name : "unknown device";
  info.total_bytes = total;
  info.simulated = std::strstr(name, "simulated") != nullptr;
  emit(ts, writer, [&](ChunkEncoder& e) { return e.device(info); });
}

// Asked of the driver once per context change on the thread, not per event.
// A device seen for the first time is described in the trace.
int current_device(ThreadState* ts, TraceFileWriter* writer) {
  if (ts->device >= 0) return ts->device;
  auto get_device = real_driver_as<CUresult (*)(CUdevice*)>(DriverFn::cuCtxGetDevice);
  CUdevice device = 0;
  if (!get_device || get_device(&device) != CUDA_SUCCESS) return 0;  // no context yet: ask again next time
  note_device(ts, writer, device);
  ts->device = device;
  return device;
}

// Common start of every record: the thread's state and the trace, unless
// recording is off or we are already inside our own recording code.
struct RecordScope {
  ThreadState* ts = nullptr;
  TraceFileWriter* writer = nullptr;
  explicit RecordScope(ThreadState* t) {
    if (!t || t->recording) return;
    writer = trace_writer();
    if (!writer) return;
    ts = t;
    ts->recording = true;
  }
  ~RecordScope() {
    if (!ts) return;
    ts->recording = false;
    ts->pending_ticks = 0;
  }
  explicit operator bool() const { return ts != nullptr; }
};

}  // namespace

void record_alloc_slow(ThreadState* thread, MemoryKind kind, Api api, uint64_t address, uint64_t size,
                       uint64_t stream, int device) {
  RecordScope scope(thread);
  if (!scope) return;
  ThreadState* ts = scope.ts;
  ts->pending_ticks = ticks();  // the call has returned: its time, before the stack walk
  if (device == kCurrentDevice) device = current_device(ts, scope.writer);
  if (device != ts->device) note_device(ts, scope.writer, device);
  StackId stack = capture_stack(ts, scope.writer);
  AllocFields f = address_fields(ts, ts->pending_ticks, kind, api, device, stream, address, size, stack);
  if (emit(ts, scope.writer, [&](ChunkEncoder& e) { return e.alloc(f); })) ++ts->recorded;
}

uint64_t time_before_free() { return trace_writer() ? ticks() : 0; }

int capture_frames_early(ThreadState* ts) {
  if (!state().native_stacks || !trace_writer()) return -1;
  return backtrace_frames(ts->frames, kMaxFrames);
}

void record_free_slow(ThreadState* thread, uint64_t ticks_before, MemoryKind kind, Api api, uint64_t address,
                      uint64_t size, uint64_t stream) {
  RecordScope scope(thread);
  if (!scope) return;
  ThreadState* ts = scope.ts;
  ts->pending_ticks = ticks_before ? ticks_before : ticks();
  StackId stack = capture_stack(ts, scope.writer);
  AllocFields f = address_fields(ts, ts->pending_ticks, kind, api, 0, stream, address, size, stack);
  if (emit(ts, scope.writer, [&](ChunkEncoder& e) { return e.free(f); })) ++ts->recorded;
}

void record_failure(ThreadState* thread, MemoryKind kind, Api api, uint64_t size, int error, int device) {
  RecordScope scope(thread);
  if (!scope) return;
  ThreadState* ts = scope.ts;
  if (device == kCurrentDevice) device = current_device(ts, scope.writer);
  if (device != ts->device) note_device(ts, scope.writer, device);
  FailureFields f;
  // What the device had at the moment of the failure: the heart of an OOM report.
  if (auto get_info = real_driver_as<CUresult (*)(size_t*, size_t*)>(DriverFn::cuMemGetInfo_v2)) {
    size_t free_bytes = 0, total_bytes = 0;
    if (get_info(&free_bytes, &total_bytes) == CUDA_SUCCESS) {
      f.free_bytes = free_bytes;
      f.total_bytes = total_bytes;
    }
  }
  f.stack = capture_stack(ts, scope.writer);
  f.ticks = ticks();
  ts->pending_ticks = f.ticks;
  f.kind = kind;
  f.api = api;
  f.via = ts->via;
  f.device = static_cast<uint32_t>(device);
  f.size = size;
  f.error = error;
  if (emit(ts, scope.writer, [&](ChunkEncoder& e) { return e.failed_alloc(f); })) ++ts->recorded;
}

void record_pool_trim(ThreadState* thread, uint64_t pool, uint64_t keep_bytes) {
  RecordScope scope(thread);
  if (!scope) return;
  int device = current_device(scope.ts, scope.writer);
  uint64_t now = ticks();
  emit(scope.ts, scope.writer, [&](ChunkEncoder& e) {
    return e.pool_trim(now, static_cast<uint32_t>(device), pool, keep_bytes);
  });
}

StringId intern_string(ThreadState* thread, std::string_view text) {
  RecordScope scope(thread);
  if (!scope) return {};
  return string_id(scope.ts, scope.writer, text);
}

void record_mark(ThreadState* thread, layout::RecordType type, StringId name, std::string_view text) {
  RecordScope scope(thread);
  if (!scope) return;
  if (!name.valid() && !text.empty()) name = string_id(scope.ts, scope.writer, text);
  uint64_t now = ticks();
  emit(scope.ts, scope.writer, [&](ChunkEncoder& e) { return e.marker(type, now, name); });
}

void record_fork(ThreadState* thread, pid_t child) {
  // A fork alone opens no trace: a process that never touches GPU memory
  // (a shell, a launcher's helper) leaves none.
  if (!state().writer.load(std::memory_order_acquire)) return;
  RecordScope scope(thread);
  if (!scope) return;
  uint64_t now = ticks();
  emit(scope.ts, scope.writer, [&](ChunkEncoder& e) { return e.fork(now, static_cast<uint32_t>(child)); });
}

void seal_thread_chunk(ThreadState* ts) {
  TraceFileWriter* writer = state().writer.load(std::memory_order_acquire);
  // Not a chunk of the parent's, in a child (even one with no fork handler run).
  if (ts && writer && ts->chunk.head && ts->generation == g_generation.value.load()) writer->seal(ts->chunk);
}

void write_end(EndReason reason, int code) {
  InjectorState& st = state();
  if (!st.end_chunk.head || !owns_open_trace()) return;
  if (st.end_written.exchange(true)) return;
  TraceFileWriter* writer = st.writer.load(std::memory_order_acquire);
  st.end_chunk.encoder.end(ticks(), reason, code, writer ? writer->claimed_chunks() : 0);
  if (writer) writer->seal(st.end_chunk);
}

}  // namespace vramscope::inject
