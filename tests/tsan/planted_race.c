/* A planted data race, for scripts/tsan.sh to prove that its runs would
 * catch one. Preloaded before the injector into the threads sample, this
 * library counts cudaMalloc calls in a plain global that every thread of
 * the sample writes without a lock, then passes each call on to the next
 * definition (the injector's, then the runtime's). ThreadSanitizer must
 * report the race and fail the run; if the run passes, the stage's runs
 * prove nothing. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>

typedef int (*malloc_fn)(void **, size_t);

static malloc_fn next_malloc;
static unsigned long calls; /* the race: written by every thread, no lock */

__attribute__((constructor)) static void find_next(void) {
  next_malloc = (malloc_fn)dlsym(RTLD_NEXT, "cudaMalloc");
}

int cudaMalloc(void **pointer, size_t bytes) {
  calls = calls + 1;
  return next_malloc(pointer, bytes);
}
