// What the hooks call to put an event in the trace. Each call writes into the
// calling thread's chunk: no lock, no heap, one clock read.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string_view>

#include "formats/trace_events.h"
#include "formats/trace_layout.h"
#include "injector/clock.h"
#include "injector/state.h"

namespace vramscope::inject {

inline constexpr int kCurrentDevice = -1;

// `ts` is the calling thread's state (thread_state()); nullptr records nothing.
void record_alloc_slow(ThreadState* ts, trace::MemoryKind kind, trace::Api api, uint64_t address, uint64_t size,
                       uint64_t stream, int device);
void record_free_slow(ThreadState* ts, uint64_t ticks_before, trace::MemoryKind kind, trace::Api api,
                      uint64_t address, uint64_t size, uint64_t stream);

// The fields of an Alloc or Free record made on `ts`'s thread.
inline trace::AllocFields address_fields(const ThreadState* ts, uint64_t ticks, trace::MemoryKind kind,
                                         trace::Api api, int device, uint64_t stream, uint64_t address,
                                         uint64_t size, trace::StackId stack = {}) {
  trace::AllocFields f;
  f.ticks = ticks;
  f.kind = kind;
  f.api = api;
  f.via = ts->via;
  f.device = static_cast<uint32_t>(device);
  f.stream = stream;
  f.address = address;
  f.size = size;
  f.stack = stack;
  return f;
}

// The common case written in place: no stack to walk, the device known, the
// trace open and room in the thread's chunk. Anything else takes the slow path.
inline bool fast_path_open(ThreadState* ts) {
  return ts && !ts->recording && !state().native_stacks && ts->chunk.head != nullptr &&
         !state().python_stacks.load(std::memory_order_relaxed);
}

inline void record_alloc(ThreadState* ts, trace::MemoryKind kind, trace::Api api, uint64_t address, uint64_t size,
                         uint64_t stream = 0, int device = kCurrentDevice) {
  if (fast_path_open(ts) && (device == kCurrentDevice ? ts->device >= 0 : device == ts->device)) {
    trace::AllocFields f = address_fields(ts, ticks(), kind, api, ts->device, stream, address, size);
    if (ts->chunk.encoder.alloc(f)) {
      ++ts->recorded;
      return;
    }
  }
  record_alloc_slow(ts, kind, api, address, size, stream, device);
}
// A free is stamped before the real call (time_before_free()): once the
// driver has the address back it may hand it to another thread at once, and
// that allocation must come after this free in the trace.
inline void record_free(ThreadState* ts, uint64_t ticks_before, trace::MemoryKind kind, trace::Api api,
                        uint64_t address, uint64_t size = 0, uint64_t stream = 0) {
  if (fast_path_open(ts)) {
    trace::AllocFields f =
        address_fields(ts, ticks_before ? ticks_before : ticks(), kind, api, 0, stream, address, size);
    if (ts->chunk.encoder.free(f)) {
      ++ts->recorded;
      return;
    }
  }
  record_free_slow(ts, ticks_before, kind, api, address, size, stream);
}
uint64_t time_before_free();
// The same, reusing the stamp of the runtime free in progress on this thread.
inline uint64_t time_before_free(ThreadState* ts) {
  return ts && ts->free_stamp ? ts->free_stamp : time_before_free();
}

// Walks the calling thread's stack into ts->frames when stacks are on and the
// trace is open; returns the frame count, or -1 (the recorder walks later).
int capture_frames_early(ThreadState* ts);
void record_failure(ThreadState* ts, trace::MemoryKind kind, trace::Api api, uint64_t size, int error,
                    int device = kCurrentDevice);
void record_pool_trim(ThreadState* ts, uint64_t pool, uint64_t keep_bytes);
// The id of `text`, its String record written on first use; the invalid id
// when nothing is recorded.
trace::StringId intern_string(ThreadState* ts, std::string_view text);
// A Marker, RangePush or RangePop named by `name`, or by `text` (interned)
// when `name` is not valid.
void record_mark(ThreadState* ts, trace::layout::RecordType type, trace::StringId name, std::string_view text = {});
void record_fork(ThreadState* ts, pid_t child);

// The current context changed on this thread: find its device again.
inline void forget_current_device(ThreadState* ts) {
  if (ts) ts->device = -1;
}

// Writes the End record once, whoever comes first (exit path or a fatal
// signal). Async-signal-safe.
void write_end(trace::EndReason reason, int code);
// Seals the calling thread's chunk (thread exit, process exit).
void seal_thread_chunk(ThreadState* ts);

// Counts one driver call on this thread; a driver function called from
// inside another one we count (a driver that calls its own exports) is not
// counted again.
class DriverCall {
 public:
  DriverCall() : ts_(thread_state()) {
    if (ts_)
      outermost_ = ts_->driver_depth++ == 0 && !ts_->recording &&
                   !state().cupti_records.load(std::memory_order_relaxed);
  }
  ~DriverCall() {
    if (ts_) --ts_->driver_depth;
  }
  DriverCall(const DriverCall&) = delete;
  DriverCall& operator=(const DriverCall&) = delete;
  bool counted() const { return outermost_; }
  ThreadState* thread() const { return ts_; }

 private:
  ThreadState* ts_;
  bool outermost_ = false;
};

// Marks a runtime call in progress so the driver events it causes say who
// asked; reports whether the driver level recorded anything meanwhile.
//
// The stack is walked here, before the runtime is entered: the event the
// driver level records then has it without walking the runtime's and our
// own frames (the walk is most of the cost of an event).
class RuntimeCall {
 public:
  explicit RuntimeCall(trace::Api via) : ts_(thread_state()) {
    if (!ts_) return;
    saved_ = ts_->via;
    ts_->via = via;
    recorded_before_ = ts_->recorded;
    if (state().native_stacks && ts_->early_frames < 0 && !ts_->recording) {
      ts_->early_frames = capture_frames_early(ts_);
      owns_frames_ = true;
    }
  }
  ~RuntimeCall() {
    if (!ts_) return;
    ts_->via = saved_;
    if (owns_frames_) ts_->early_frames = -1;
  }
  RuntimeCall(const RuntimeCall&) = delete;
  RuntimeCall& operator=(const RuntimeCall&) = delete;
  // True when no driver event was recorded during the call: the runtime
  // reached the driver some way we do not see, so record at this level.
  bool driver_silent() const { return ts_ && ts_->recorded == recorded_before_ && ts_->driver_depth == 0; }
  ThreadState* thread() const { return ts_; }

 private:
  ThreadState* ts_;
  trace::Api saved_ = trace::Api::None;
  uint32_t recorded_before_ = 0;
  bool owns_frames_ = false;
};

}  // namespace vramscope::inject
