// The CUPTI backend (vramscope run --backend cupti): the driver loads this
// library by CUDA_INJECTION64_PATH at cuInit and calls InitializeInjection,
// which subscribes to CUPTI's callbacks on every driver memory call. It sees
// calls that symbol interposition cannot, such as those of a program linked
// with the static CUDA runtime. CUPTI admits one subscriber per process: when
// another tool holds it, or CUPTI cannot be loaded, this says so and the
// preload's own hooks go on recording. CUPTI is loaded at run time, so that
// the injector loads where there is none. CUPTI's activity records of memory
// and memory pools are counted beside, and the count compared at exit.
#include <dlfcn.h>
#include <pthread.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "injector/cupti_events.h"
#include "injector/recorder.h"

using namespace vramscope::inject;
namespace events = vramscope::inject::cupti;

namespace {

struct Cupti {
  CUptiResult (*subscribe)(CUpti_SubscriberHandle*, CUpti_CallbackFunc, void*) = nullptr;
  CUptiResult (*enable_callback)(uint32_t, CUpti_SubscriberHandle, CUpti_CallbackDomain,
                                 CUpti_CallbackId) = nullptr;
  CUptiResult (*result_string)(CUptiResult, const char**) = nullptr;
  CUptiResult (*activity_enable)(CUpti_ActivityKind) = nullptr;
  CUptiResult (*register_buffers)(CUpti_BuffersCallbackRequestFunc,
                                  CUpti_BuffersCallbackCompleteFunc) = nullptr;
  CUptiResult (*next_record)(uint8_t*, size_t, CUpti_Activity**) = nullptr;
  CUptiResult (*flush_all)(uint32_t) = nullptr;

  std::string name_of(CUptiResult r) const {
    const char* text = nullptr;
    if (result_string && result_string(r, &text) == CUPTI_SUCCESS && text) return text;
    return "CUPTI error " + std::to_string(static_cast<int>(r));
  }
};

// libcupti: $VRAMSCOPE_CUPTI, else as the loader finds it, else in the toolkit.
void* load_cupti(std::string& why) {
  const char* chosen = std::getenv("VRAMSCOPE_CUPTI");
  const char* candidates[] = {chosen && *chosen ? chosen : "libcupti.so.13", "libcupti.so.12", "libcupti.so",
                              "/usr/local/cuda/extras/CUPTI/lib64/libcupti.so",
                              "/usr/local/cuda/lib64/libcupti.so"};
  for (const char* path : candidates) {
    if (void* library = dlopen(path, RTLD_NOW | RTLD_LOCAL)) return library;
    if (path == candidates[0]) why = dlerror();
  }
  return nullptr;
}

Cupti g_cupti;

// The ledger: what the activity records count, and what the callbacks
// recorded of the same kinds (cupti_events.h).
pthread_mutex_t g_tally_mutex = PTHREAD_MUTEX_INITIALIZER;
events::ActivityTally g_tally;
std::atomic<uint64_t> g_called_allocations{0};
std::atomic<uint64_t> g_called_frees{0};

constexpr size_t kActivityBufferBytes = size_t{1} << 20;

void CUPTIAPI buffer_requested(uint8_t** buffer, size_t* size, size_t* max_records) {
  *buffer = static_cast<uint8_t*>(std::aligned_alloc(8, kActivityBufferBytes));
  *size = *buffer ? kActivityBufferBytes : 0;
  *max_records = 0;
}

void CUPTIAPI buffer_completed(CUcontext, uint32_t, uint8_t* buffer, size_t, size_t valid) {
  pthread_mutex_lock(&g_tally_mutex);
  CUpti_Activity* record = nullptr;
  while (buffer && g_cupti.next_record(buffer, valid, &record) == CUPTI_SUCCESS)
    events::tally(*record, g_tally);
  pthread_mutex_unlock(&g_tally_mutex);
  std::free(buffer);
}

// At exit: the activity records still buffered, then the ledger against the
// callbacks. A difference is said on one line (tests/gpu/run.sh checks there is none).
void finish_activity() {
  if (!state().cupti_records.load() || !g_cupti.flush_all) return;
  g_cupti.flush_all(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
  pthread_mutex_lock(&g_tally_mutex);
  const events::ActivityTally t = g_tally;
  pthread_mutex_unlock(&g_tally_mutex);
  const uint64_t allocations = g_called_allocations.load(), frees = g_called_frees.load();
  if (t.allocations != allocations || t.releases != frees) {
    std::fprintf(stderr,
                 "vramscope: CUPTI's activity records count %llu allocations and %llu frees; its callbacks "
                 "recorded %llu and %llu\n",
                 static_cast<unsigned long long>(t.allocations), static_cast<unsigned long long>(t.releases),
                 static_cast<unsigned long long>(allocations), static_cast<unsigned long long>(frees));
  }
}

void CUPTIAPI on_callback(void*, CUpti_CallbackDomain domain, CUpti_CallbackId cbid, const void* data_ptr) {
  const auto* data = static_cast<const CUpti_CallbackData*>(data_ptr);
  if (domain != CUPTI_CB_DOMAIN_DRIVER_API || !data) return;
  ThreadState* ts = thread_state();
  if (!ts || ts->recording) return;
  if (data->callbackSite == CUPTI_API_ENTER) {
    if (events::frees(cbid)) ts->cupti_free_stamp = time_before_free(ts);
    return;
  }
  const CUresult result = data->functionReturnValue ? *static_cast<const CUresult*>(data->functionReturnValue)
                                                    : CUDA_ERROR_UNKNOWN;
  std::optional<events::CallEvent> e = events::event_of(cbid, data->functionParams, result);
  const uint64_t stamp = ts->cupti_free_stamp;
  ts->cupti_free_stamp = 0;
  if (!e) return;
  if (events::counted_by_activity(*e)) {
    (e->type == events::CallEvent::Type::Alloc ? g_called_allocations : g_called_frees).fetch_add(1);
  }
  switch (e->type) {
    case events::CallEvent::Type::Alloc:
      record_alloc(ts, e->kind, e->api, e->address, e->size, e->stream, e->device);
      return;
    case events::CallEvent::Type::Failed:
      record_failure(ts, e->kind, e->api, e->size, e->error, e->device);
      return;
    case events::CallEvent::Type::Free:
      record_free(ts, stamp, e->kind, e->api, e->address, e->size, e->stream);
      return;
    case events::CallEvent::Type::PoolTrim:
      record_pool_trim(ts, e->address, e->size);
      return;
  }
}

// Subscribes to every memory call's callbacks; "" when done, else why not.
std::string start_cupti() {
  std::string why;
  void* library = load_cupti(why);
  if (!library) return "cannot load libcupti (" + why + "; set VRAMSCOPE_CUPTI to its path)";
  Cupti& api = g_cupti;
  api.subscribe = reinterpret_cast<decltype(api.subscribe)>(dlsym(library, "cuptiSubscribe"));
  api.enable_callback =
      reinterpret_cast<decltype(api.enable_callback)>(dlsym(library, "cuptiEnableCallback"));
  api.result_string = reinterpret_cast<decltype(api.result_string)>(dlsym(library, "cuptiGetResultString"));
  api.activity_enable =
      reinterpret_cast<decltype(api.activity_enable)>(dlsym(library, "cuptiActivityEnable"));
  api.register_buffers =
      reinterpret_cast<decltype(api.register_buffers)>(dlsym(library, "cuptiActivityRegisterCallbacks"));
  api.next_record = reinterpret_cast<decltype(api.next_record)>(dlsym(library, "cuptiActivityGetNextRecord"));
  api.flush_all = reinterpret_cast<decltype(api.flush_all)>(dlsym(library, "cuptiActivityFlushAll"));
  if (!api.subscribe || !api.enable_callback) return "libcupti lacks cuptiSubscribe or cuptiEnableCallback";
  CUpti_SubscriberHandle subscriber = nullptr;
  CUptiResult r = api.subscribe(&subscriber, on_callback, nullptr);
  if (r == CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED)
    return "another tool holds CUPTI (Nsight Systems, Nsight Compute, torch.profiler, ...)";
  if (r != CUPTI_SUCCESS) return "cuptiSubscribe failed: " + api.name_of(r);
  for (CUpti_CallbackId cbid : events::memory_calls()) {
    r = api.enable_callback(1, subscriber, CUPTI_CB_DOMAIN_DRIVER_API, cbid);
    if (r != CUPTI_SUCCESS) return "cuptiEnableCallback failed: " + api.name_of(r);
  }
  // The activity records, for the ledger: without them the callbacks still record.
  if (api.activity_enable && api.register_buffers && api.next_record && api.flush_all &&
      api.register_buffers(buffer_requested, buffer_completed) == CUPTI_SUCCESS &&
      api.activity_enable(CUPTI_ACTIVITY_KIND_MEMORY2) == CUPTI_SUCCESS &&
      api.activity_enable(CUPTI_ACTIVITY_KIND_MEMORY_POOL) == CUPTI_SUCCESS) {
    std::atexit(finish_activity);
  } else {
    api.flush_all = nullptr;
  }
  return {};
}

}  // namespace

// Called by the driver, at cuInit, in the library CUDA_INJECTION64_PATH names.
extern "C" __attribute__((visibility("default"))) int InitializeInjection() {
  const char* backend = std::getenv("VRAMSCOPE_BACKEND");
  if (!backend || std::strcmp(backend, "cupti") != 0 || !state().enabled) return 1;
  std::string why = start_cupti();
  if (why.empty()) {
    state().cupti_records.store(true);
  } else {
    std::fprintf(stderr, "vramscope: no CUPTI backend: %s; recording through the preload path\n",
                 why.c_str());
  }
  return 1;
}
