// Module discovery with dl_iterate_phdr: path, load bias, code range, build id.
#include "injector/modules.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <unistd.h>

#include <cstring>

#include "injector/state.h"

namespace vramscope::inject {

namespace {

struct CodeRange {
  uint64_t start = UINT64_MAX;
  uint64_t end = 0;
};

CodeRange code_range(const dl_phdr_info* info) {
  CodeRange range;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
    uint64_t start = info->dlpi_addr + ph.p_vaddr;
    range.start = start < range.start ? start : range.start;
    range.end = start + ph.p_memsz > range.end ? start + ph.p_memsz : range.end;
  }
  return range;
}

// Hex of the GNU build id note, or "" when the object has none.
size_t build_id_hex(const dl_phdr_info* info, char* out, size_t capacity) {
  static const char kHex[] = "0123456789abcdef";
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_NOTE) continue;
    auto* p = reinterpret_cast<const uint8_t*>(info->dlpi_addr + ph.p_vaddr);
    const uint8_t* end = p + ph.p_memsz;
    while (p + sizeof(ElfW(Nhdr)) <= end) {
      auto* note = reinterpret_cast<const ElfW(Nhdr)*>(p);
      const uint8_t* name = p + sizeof *note;
      const uint8_t* desc = name + ((note->n_namesz + 3) & ~3u);
      if (desc + note->n_descsz > end) break;
      if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 && std::memcmp(name, "GNU", 4) == 0) {
        size_t n = 0;
        for (uint32_t k = 0; k < note->n_descsz && n + 2 < capacity; ++k) {
          out[n++] = kHex[desc[k] >> 4];
          out[n++] = kHex[desc[k] & 15];
        }
        return n;
      }
      p = desc + ((note->n_descsz + 3) & ~3u);
    }
  }
  return 0;
}

bool already_written(uint64_t start) {
  InjectorState& st = state();
  int count = st.module_count.load(std::memory_order_acquire);
  for (int i = 0; i < count; ++i) {
    if (st.modules[i].start == start) return true;
  }
  return false;
}

struct ScanContext {
  ModuleSink sink;
  void* context;
};

int scan_one(dl_phdr_info* info, size_t, void* data) {
  auto* scan = static_cast<ScanContext*>(data);
  CodeRange range = code_range(info);
  if (range.start >= range.end || already_written(range.start)) return 0;
  char path[4096];
  const char* name = info->dlpi_name;
  if (!name || !name[0]) {
    // The main program has no name here.
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0) return 0;
    path[n] = 0;
    name = path;
  }
  if (std::strncmp(name, "linux-vdso", 10) == 0) return 0;
  char build_id[130];
  size_t build_id_size = build_id_hex(info, build_id, sizeof build_id);
  InjectorState& st = state();
  int index = st.module_count.load(std::memory_order_relaxed);
  if (index >= kMaxModules) return 1;
  if (!scan->sink(scan->context, name, info->dlpi_addr, range.start, range.end, {build_id, build_id_size})) return 1;
  st.modules[index] = {range.start, range.end};
  st.module_count.store(index + 1, std::memory_order_release);
  return 0;
}

bool known(uint64_t ip) {
  InjectorState& st = state();
  int count = st.module_count.load(std::memory_order_acquire);
  for (int i = 0; i < count; ++i) {
    if (ip >= st.modules[i].start && ip < st.modules[i].end) return true;
  }
  return false;
}

int find_self(dl_phdr_info* info, size_t, void* data) {
  auto* base = static_cast<uint64_t*>(data);
  if (info->dlpi_addr != *base) return 0;
  CodeRange range = code_range(info);
  state().self = {range.start, range.end};
  return 1;
}

}  // namespace

void init_own_code_range() {
  Dl_info info{};
  if (!dladdr(reinterpret_cast<void*>(&init_own_code_range), &info)) return;
  uint64_t base = reinterpret_cast<uint64_t>(info.dli_fbase);
  dl_iterate_phdr(find_self, &base);
}

bool in_own_code(uint64_t ip) {
  const ModuleRange& self = state().self;
  // dlsym may be called by another library's constructor before ours runs.
  if (self.end == 0) init_own_code_range();
  return ip >= self.start && ip < self.end;
}

void note_module_of(uint64_t ip, ModuleSink sink, void* context) {
  if (known(ip)) return;
  InjectorState& st = state();
  pthread_mutex_lock(&st.module_mutex);
  if (!known(ip)) {
    ScanContext scan{sink, context};
    dl_iterate_phdr(scan_one, &scan);
  }
  pthread_mutex_unlock(&st.module_mutex);
}

void forget_written_modules() {
  InjectorState& st = state();
  pthread_mutex_init(&st.module_mutex, nullptr);
  st.module_count.store(0);
}

}  // namespace vramscope::inject
