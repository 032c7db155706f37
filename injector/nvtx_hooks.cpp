// The injector as an NVTX tool (NVTX_INJECTION64_PATH names this library).
// NVTX's header-only code in the job loads us and calls
// InitializeInjectionNvtx2 with its export table: we fill the slots of the
// core modules we want (marks and ranges become Marker/RangePush/RangePop
// records). The memory extension (nvToolsExtMem.h) initializes on its own
// first call through InitializeInjectionNvtxExtension, with its table of
// function slots: heaps and regions become Heap and Block allocations, the
// tensor-level view of a caching allocator.
#define NVTX_NO_IMPL  // we are the tool: types only, no NVTX implementation of our own
#include <nvtx3/nvToolsExt.h>
#include <nvtx3/nvToolsExtMem.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "injector/recorder.h"
#include "injector/state.h"

using namespace vramscope::inject;
using vramscope::trace::Api;
using vramscope::trace::MemoryKind;
using vramscope::trace::StringId;
namespace layout = vramscope::trace::layout;

namespace {

// What an NVTX event is called: ASCII text, or a string registered before
// (its handle is our string id). Unicode messages are not recorded by name.
struct Name {
  StringId id;
  std::string_view text;
};

std::string_view ascii(const char* text) {
  return text ? std::string_view(text, strnlen(text, layout::kMaxStringBytes)) : std::string_view{};
}

Name name_of(const nvtxEventAttributes_t* attributes) {
  constexpr size_t kNeeded = offsetof(nvtxEventAttributes_t, message) + sizeof(nvtxMessageValue_t);
  if (!attributes || attributes->size < kNeeded) return {};
  switch (attributes->messageType) {
    case NVTX_MESSAGE_TYPE_ASCII:
      return {{}, ascii(attributes->message.ascii)};
    case NVTX_MESSAGE_TYPE_REGISTERED:
      return {StringId{static_cast<uint32_t>(reinterpret_cast<uintptr_t>(attributes->message.registered))},
              {}};
    default:
      return {};
  }
}

void mark(layout::RecordType type, Name name) { record_mark(thread_state(), type, name.id, name.text); }

// Ranges nest per thread; push and pop report the depth, as NVTX asks.
int push(Name name) {
  ThreadState* ts = thread_state();
  record_mark(ts, layout::kRangePush, name.id, name.text);
  return ts ? ts->nvtx_depth++ : 0;
}

int pop() {
  ThreadState* ts = thread_state();
  record_mark(ts, layout::kRangePop, {});
  if (!ts || ts->nvtx_depth == 0) return -1;
  return --ts->nvtx_depth;
}

// A start/end range may end on another thread: it is recorded as a push and
// a pop, and its id is the id of its name, so the pop can say what ended.
nvtxRangeId_t start(Name name) {
  ThreadState* ts = thread_state();
  if (!name.id.valid() && !name.text.empty()) name.id = intern_string(ts, name.text);
  record_mark(ts, layout::kRangePush, name.id);
  return name.id.value;
}

void end(nvtxRangeId_t id) {
  record_mark(thread_state(), layout::kRangePop, StringId{static_cast<uint32_t>(id)});
}

// ---- core module (NVTX_CB_MODULE_CORE) ----
void mark_ex(const nvtxEventAttributes_t* a) { mark(layout::kMarker, name_of(a)); }
void mark_a(const char* message) { mark(layout::kMarker, {{}, ascii(message)}); }
nvtxRangeId_t range_start_ex(const nvtxEventAttributes_t* a) { return start(name_of(a)); }
nvtxRangeId_t range_start_a(const char* message) { return start({{}, ascii(message)}); }
void range_end(nvtxRangeId_t id) { end(id); }
int range_push_ex(const nvtxEventAttributes_t* a) { return push(name_of(a)); }
int range_push_a(const char* message) { return push({{}, ascii(message)}); }
int range_pop() { return pop(); }

// ---- core module 2 (NVTX_CB_MODULE_CORE2): the same in a domain ----
void domain_mark_ex(nvtxDomainHandle_t, const nvtxEventAttributes_t* a) { mark_ex(a); }
nvtxRangeId_t domain_range_start_ex(nvtxDomainHandle_t, const nvtxEventAttributes_t* a) {
  return range_start_ex(a);
}
void domain_range_end(nvtxDomainHandle_t, nvtxRangeId_t id) { end(id); }
int domain_range_push_ex(nvtxDomainHandle_t, const nvtxEventAttributes_t* a) { return push(name_of(a)); }
int domain_range_pop(nvtxDomainHandle_t) { return pop(); }
// A registered string's handle is its string id in the trace.
nvtxStringHandle_t domain_register_string_a(nvtxDomainHandle_t, const char* text) {
  StringId id = intern_string(thread_state(), ascii(text));
  return reinterpret_cast<nvtxStringHandle_t>(static_cast<uintptr_t>(id.value));
}

// ---- memory extension (NVTX_EXT_MODULEID_MEM) ----
uint64_t value_of(const void* p) { return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(p)); }

// Batches give their element size so that a newer NVTX can grow the elements.
template <typename Element>
const Element* element(const void* elements, size_t element_size, size_t i) {
  size_t stride = element_size ? element_size : sizeof(Element);
  return reinterpret_cast<const Element*>(static_cast<const char*>(elements) + i * stride);
}
template <typename Element>
bool readable(const void* elements, size_t element_size) {
  return elements && (element_size == 0 || element_size >= sizeof(Element));
}

// A heap's handle is its base pointer, so reports can place it; a heap with
// no address range gets a handle above any user-space pointer.
nvtxMemHeapHandle_t heap_register(nvtxDomainHandle_t, const nvtxMemHeapDesc_t* desc) {
  uint64_t base = 0, size = 0;
  if (desc && desc->type == NVTX_MEM_TYPE_VIRTUAL_ADDRESS && desc->typeSpecificDesc &&
      desc->typeSpecificDescSize >= sizeof(nvtxMemVirtualRangeDesc_t)) {
    const auto* range = static_cast<const nvtxMemVirtualRangeDesc_t*>(desc->typeSpecificDesc);
    base = value_of(range->ptr);
    size = range->size;
  }
  uint64_t handle = base ? base : (uint64_t{1} << 63) | state().next_heap_handle.fetch_add(1);
  record_alloc(thread_state(), MemoryKind::Heap, Api::nvtxMemHeapRegister, handle, size, handle);
  return reinterpret_cast<nvtxMemHeapHandle_t>(static_cast<uintptr_t>(handle));
}

// The reader frees the heap's live blocks (docs/trace-format.md, Pairing).
void heap_unregister(nvtxDomainHandle_t, nvtxMemHeapHandle_t heap) {
  record_free(thread_state(), 0, MemoryKind::Heap, Api::nvtxMemHeapUnregister, value_of(heap));
}
void heap_reset(nvtxDomainHandle_t, nvtxMemHeapHandle_t heap) {
  record_free(thread_state(), 0, MemoryKind::Heap, Api::nvtxMemHeapReset, value_of(heap));
}

// A region's handle is its start address, so it is unregistered the same way
// by pointer or by handle.
void regions_register(nvtxDomainHandle_t, const nvtxMemRegionsRegisterBatch_t* batch) {
  if (!batch || batch->regionType != NVTX_MEM_TYPE_VIRTUAL_ADDRESS) return;
  if (!readable<nvtxMemVirtualRangeDesc_t>(batch->regionDescElements, batch->regionDescElementSize)) return;
  ThreadState* ts = thread_state();
  uint64_t heap = value_of(batch->heap);
  for (size_t i = 0; i < batch->regionCount; ++i) {
    const auto* region =
        element<nvtxMemVirtualRangeDesc_t>(batch->regionDescElements, batch->regionDescElementSize, i);
    record_alloc(ts, MemoryKind::Block, Api::nvtxMemRegionsRegister, value_of(region->ptr), region->size,
                 heap);
    if (batch->regionHandleElementsOut) {
      batch->regionHandleElementsOut[i] =
          reinterpret_cast<nvtxMemRegionHandle_t>(const_cast<void*>(region->ptr));
    }
  }
}

// A new size for a region: its free and its allocation again (the reader
// keeps it in its heap).
void regions_resize(nvtxDomainHandle_t, const nvtxMemRegionsResizeBatch_t* batch) {
  if (!batch || batch->regionType != NVTX_MEM_TYPE_VIRTUAL_ADDRESS) return;
  if (!readable<nvtxMemVirtualRangeDesc_t>(batch->regionDescElements, batch->regionDescElementSize)) return;
  ThreadState* ts = thread_state();
  for (size_t i = 0; i < batch->regionDescCount; ++i) {
    const auto* region =
        element<nvtxMemVirtualRangeDesc_t>(batch->regionDescElements, batch->regionDescElementSize, i);
    record_free(ts, 0, MemoryKind::Block, Api::nvtxMemRegionsResize, value_of(region->ptr));
    record_alloc(ts, MemoryKind::Block, Api::nvtxMemRegionsResize, value_of(region->ptr), region->size);
  }
}

void regions_unregister(nvtxDomainHandle_t, const nvtxMemRegionsUnregisterBatch_t* batch) {
  if (!batch || !readable<nvtxMemRegionRef_t>(batch->refElements, batch->refElementSize)) return;
  if (batch->refType != NVTX_MEM_REGION_REF_TYPE_POINTER && batch->refType != NVTX_MEM_REGION_REF_TYPE_HANDLE)
    return;
  ThreadState* ts = thread_state();
  for (size_t i = 0; i < batch->refCount; ++i) {
    const auto* ref = element<nvtxMemRegionRef_t>(batch->refElements, batch->refElementSize, i);
    record_free(ts, 0, MemoryKind::Block, Api::nvtxMemRegionsUnregister, value_of(ref->pointer));
  }
}

// ---- attaching ----
struct Slot {
  unsigned int id;
  NvtxFunctionPointer function;
};

template <typename Function>
Slot slot(unsigned int id, Function function) {
  return {id, reinterpret_cast<NvtxFunctionPointer>(function)};
}

// The table is an array of pointers to NVTX's own function pointers; out_size
// is its last valid callback id + 1.
void attach(const NvtxExportTableCallbacks* callbacks, NvtxCallbackModule module,
            std::initializer_list<Slot> slots) {
  NvtxFunctionTable table = nullptr;
  unsigned int size = 0;
  if (!callbacks->GetModuleFunctionTable(module, &table, &size) || !table) return;
  for (const Slot& s : slots) {
    if (s.id < size && table[s.id]) *table[s.id] = s.function;
  }
}

}  // namespace

#pragma GCC visibility push(default)  // what NVTX looks up in this library
extern "C" {

int InitializeInjectionNvtx2(NvtxGetExportTableFunc_t get_export_table) {
  // 0 tells NVTX to make every call a no-op: nothing to record.
  if (!state().enabled || !get_export_table) return 0;
  const auto* callbacks = static_cast<const NvtxExportTableCallbacks*>(get_export_table(NVTX_ETID_CALLBACKS));
  if (!callbacks || callbacks->struct_size < sizeof(NvtxExportTableCallbacks) ||
      !callbacks->GetModuleFunctionTable) {
    return 0;
  }
  attach(callbacks, NVTX_CB_MODULE_CORE,
         {slot(NVTX_CBID_CORE_MarkEx, mark_ex), slot(NVTX_CBID_CORE_MarkA, mark_a),
          slot(NVTX_CBID_CORE_RangeStartEx, range_start_ex), slot(NVTX_CBID_CORE_RangeStartA, range_start_a),
          slot(NVTX_CBID_CORE_RangeEnd, range_end), slot(NVTX_CBID_CORE_RangePushEx, range_push_ex),
          slot(NVTX_CBID_CORE_RangePushA, range_push_a), slot(NVTX_CBID_CORE_RangePop, range_pop)});
  attach(callbacks, NVTX_CB_MODULE_CORE2,
         {slot(NVTX_CBID_CORE2_DomainMarkEx, domain_mark_ex),
          slot(NVTX_CBID_CORE2_DomainRangeStartEx, domain_range_start_ex),
          slot(NVTX_CBID_CORE2_DomainRangeEnd, domain_range_end),
          slot(NVTX_CBID_CORE2_DomainRangePushEx, domain_range_push_ex),
          slot(NVTX_CBID_CORE2_DomainRangePop, domain_range_pop),
          slot(NVTX_CBID_CORE2_DomainRegisterStringA, domain_register_string_a)});
  const auto* version =
      static_cast<const NvtxExportTableVersionInfo*>(get_export_table(NVTX_ETID_VERSIONINFO));
  if (version && version->struct_size >= sizeof(NvtxExportTableVersionInfo) &&
      version->SetInjectionNvtxVersion) {
    version->SetInjectionNvtxVersion(NVTX_VERSION);
  }
  return 1;
}

// Each NVTX extension module calls this once. Slots we leave empty become
// no-ops; other extensions than memory get none.
int InitializeInjectionNvtxExtension(nvtxExtModuleInfo_t* module) {
  if (!state().enabled || !module) return 0;
  if (module->moduleId != NVTX_EXT_MODULEID_MEM) return 1;
  const Slot slots[] = {slot(NVTX3EXT_CBID_nvtxMemHeapRegister, heap_register),
                        slot(NVTX3EXT_CBID_nvtxMemHeapUnregister, heap_unregister),
                        slot(NVTX3EXT_CBID_nvtxMemHeapReset, heap_reset),
                        slot(NVTX3EXT_CBID_nvtxMemRegionsRegister, regions_register),
                        slot(NVTX3EXT_CBID_nvtxMemRegionsResize, regions_resize),
                        slot(NVTX3EXT_CBID_nvtxMemRegionsUnregister, regions_unregister)};
  for (size_t i = 0; i < module->segmentsCount; ++i) {
    nvtxExtModuleSegment_t& segment = module->segments[i];
    if (segment.segmentId != 1 || !segment.functionSlots)
      continue;  // the memory module has one segment, id 1
    for (const Slot& s : slots) {
      if (s.id < segment.slotCount) segment.functionSlots[s.id] = reinterpret_cast<intptr_t>(s.function);
    }
  }
  return 1;
}

}  // extern "C"
#pragma GCC visibility pop
