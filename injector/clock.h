// Time stamps on the hot path: the CPU's time-stamp counter where it runs at a
// constant rate (one instruction, against ~40 ns for clock_gettime in a VM),
// the monotonic clock elsewhere. Chunk heads anchor ticks to the clock.
#pragma once

#include <time.h>
#include <x86intrin.h>

#include <cstdint>

#include "injector/state.h"

namespace vramscope::inject {

inline uint64_t clock_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

inline uint64_t ticks() { return state().use_tsc ? __rdtsc() : clock_ns(); }

// Chooses the tick source and returns ticks per second (0: ticks are ns).
// Measures the TSC against the clock for about 2 ms.
uint64_t calibrate_ticks();

}  // namespace vramscope::inject
