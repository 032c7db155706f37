// Tick source choice and calibration.
#include "injector/clock.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include <cstdlib>
#include <cstring>

namespace vramscope::inject {

namespace {

// Whether the CPU's counter runs at one constant rate, in step on every core.
bool counter_is_constant() {
#if defined(__x86_64__)
  // CPUID 0x80000007 EDX bit 8: the TSC runs at a constant rate in every
  // power state, and the kernel keeps it in step across cores.
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(0x80000000, &eax, &ebx, &ecx, &edx) || eax < 0x80000007) return false;
  if (!__get_cpuid(0x80000007, &eax, &ebx, &ecx, &edx)) return false;
  return (edx & (1u << 8)) != 0;
#else
  return true;  // aarch64's generic timer: a fixed frequency, one count system-wide
#endif
}

}  // namespace

uint64_t calibrate_ticks() {
  InjectorState& st = state();
  st.use_tsc = false;
  // VRAMSCOPE_CLOCK=monotonic: the clock itself on every event (slower), for
  // machines whose cores' counters disagree.
  const char* chosen = std::getenv("VRAMSCOPE_CLOCK");
  if (chosen && std::strcmp(chosen, "monotonic") == 0) return 0;
  if (!counter_is_constant()) return 0;
  uint64_t ns0 = clock_ns(), tsc0 = cpu_counter();
  uint64_t ns1 = ns0, tsc1 = tsc0;
  while (ns1 - ns0 < 2'000'000) {
    ns1 = clock_ns();
    tsc1 = cpu_counter();
  }
  if (tsc1 <= tsc0) return 0;
  st.use_tsc = true;
  const double per_second = static_cast<double>(tsc1 - tsc0) * 1e9 / static_cast<double>(ns1 - ns0);
  st.ns_per_tick = 1e9 / per_second;
  return static_cast<uint64_t>(per_second);
}

}  // namespace vramscope::inject
