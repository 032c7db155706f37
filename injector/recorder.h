// What the hooks call to put an event in the trace. Each call writes into the
// calling thread's chunk: no lock, no heap, one clock read.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "formats/trace_events.h"
#include "injector/state.h"

namespace vramscope::inject {

inline constexpr int kCurrentDevice = -1;

// `ts` is the calling thread's state (thread_state()); nullptr records nothing.
void record_alloc(ThreadState* ts, trace::MemoryKind kind, trace::Api api, uint64_t address, uint64_t size,
                  uint64_t stream = 0, int device = kCurrentDevice);
// A free is stamped before the real call (time_before_free()): once the
// driver has the address back it may hand it to another thread at once, and
// that allocation must come after this free in the trace.
void record_free(ThreadState* ts, uint64_t ticks_before, trace::MemoryKind kind, trace::Api api, uint64_t address,
                 uint64_t size = 0, uint64_t stream = 0);
uint64_t time_before_free();
void record_failure(ThreadState* ts, trace::MemoryKind kind, trace::Api api, uint64_t size, int error,
                    int device = kCurrentDevice);
void record_pool_trim(ThreadState* ts, uint64_t pool, uint64_t keep_bytes);
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
    if (ts_) outermost_ = ts_->driver_depth++ == 0 && !ts_->recording;
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
class RuntimeCall {
 public:
  explicit RuntimeCall(trace::Api via) : ts_(thread_state()) {
    if (!ts_) return;
    saved_ = ts_->via;
    ts_->via = via;
    recorded_before_ = ts_->recorded;
  }
  ~RuntimeCall() {
    if (ts_) ts_->via = saved_;
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
};

}  // namespace vramscope::inject
