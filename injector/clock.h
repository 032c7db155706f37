// Time stamps on the hot path: the CPU's own counter where it runs at a
// constant rate (one instruction, against ~40 ns for clock_gettime in a VM),
// the monotonic clock elsewhere. On x86-64 that counter is the time-stamp
// counter (TSC); on aarch64 the generic timer's virtual count, which runs at
// a fixed rate on every core by the architecture's rules. Chunk heads anchor
// ticks to the clock.
#pragma once

#include <time.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include <cstdint>

#include "injector/state.h"

namespace vramscope::inject {

inline uint64_t clock_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// The CPU's counter (use only where calibrate_ticks chose it).
inline uint64_t cpu_counter() {
#if defined(__x86_64__)
  return __rdtsc();
#elif defined(__aarch64__)
  uint64_t count;
  asm volatile("mrs %0, cntvct_el0" : "=r"(count));
  return count;
#else
#error "vramscope's injector runs on x86-64 and aarch64"
#endif
}

inline uint64_t ticks() { return state().use_tsc ? cpu_counter() : clock_ns(); }

// A reading of both clocks at one moment, to anchor a chunk's ticks to the
// clock: the clock read between two tick readings, whose midpoint is taken.
// A thread preempted between its readings would shift every event of the
// chunk by as long, and put a free on one thread after the allocation that
// reused its address on another: the pair with the smallest gap of a few
// tries is kept.
struct ClockAnchor {
  uint64_t ns = 0;
  uint64_t ticks = 0;
};
inline ClockAnchor anchor_clocks() {
  if (!state().use_tsc) {
    const uint64_t now = clock_ns();
    return {now, now};
  }
  ClockAnchor best;
  uint64_t best_gap = UINT64_MAX;
  for (int attempt = 0; attempt < 8; ++attempt) {
    const uint64_t before = cpu_counter();
    const uint64_t ns = clock_ns();
    const uint64_t after = cpu_counter();
    const uint64_t gap = after - before;
    if (gap < best_gap) {
      best_gap = gap;
      best = {ns, before + gap / 2};
    }
    if (gap < 1000) break;  // well under a microsecond: no preemption between them
  }
  return best;
}

// The same moment `anchor` stands for, moved back to the earlier tick reading
// `ticks` (the clock side by the calibrated rate).
inline ClockAnchor anchor_back_to(ClockAnchor anchor, uint64_t ticks) {
  if (ticks == 0 || ticks >= anchor.ticks) return anchor;
  const uint64_t back_ns =
      state().use_tsc ? static_cast<uint64_t>(static_cast<double>(anchor.ticks - ticks) * state().ns_per_tick)
                      : anchor.ticks - ticks;
  return {anchor.ns > back_ns ? anchor.ns - back_ns : 0, ticks};
}

// Chooses the tick source and returns ticks per second (0: ticks are ns).
// Measures the CPU's counter against the clock for about 2 ms.
uint64_t calibrate_ticks();

}  // namespace vramscope::inject
