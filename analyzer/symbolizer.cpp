// Symbolization with elfutils' libdwfl, offline: every module of the trace is
// reported at its recorded load bias, then addresses are looked up in them.
#include "analyzer/symbolizer.h"

#include <cxxabi.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string_view>
#include <unordered_map>

namespace vramscope::analysis {

namespace {

std::string demangle(const char* symbol) {
  // Dynamic symbols can carry a version ("__libc_start_main@@GLIBC_2.34").
  std::string name = symbol;
  if (size_t at = name.find('@'); at != std::string::npos && at > 0) name.resize(at);
  int status = 0;
  char* demangled = abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status);
  if (status != 0 || demangled == nullptr) return name;
  std::string result = demangled;
  std::free(demangled);
  return result;
}

std::string hex(const unsigned char* bytes, int length) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  for (int i = 0; i < length; ++i) {
    text.push_back(kDigits[bytes[i] >> 4]);
    text.push_back(kDigits[bytes[i] & 0xf]);
  }
  return text;
}

bool same_build_id(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
  });
}

std::string_view basename(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// The name of an inlined function's DIE (through its abstract origin):
// demangled from its linkage name, as the symbol table's names are.
std::string inlined_name(Dwarf_Die* die) {
  Dwarf_Attribute attribute;
  for (int name : {DW_AT_linkage_name, DW_AT_MIPS_linkage_name}) {
    if (const char* linkage = dwarf_formstring(dwarf_attr_integrate(die, name, &attribute))) {
      return demangle(linkage);
    }
  }
  if (const char* plain = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &attribute))) return plain;
  return "??";
}

// The file and line that an inlined function's DIE was called from.
void call_site(Dwarf_Die* inlined, Dwarf_Die* unit, StackFrame& caller) {
  Dwarf_Attribute attribute;
  Dwarf_Word file_index = 0, line = 0;
  caller.file.clear();
  caller.line = 0;
  if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_line, &attribute), &line) == 0) {
    caller.line = static_cast<uint32_t>(line);
  }
  Dwarf_Files* files = nullptr;
  size_t file_count = 0;
  if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_file, &attribute), &file_index) == 0 &&
      dwarf_getsrcfiles(unit, &files, &file_count) == 0 && file_index < file_count) {
    if (const char* file = dwarf_filesrc(files, file_index, nullptr, nullptr)) caller.file = file;
  }
}

// The functions inlined at `pc`, innermost first, then `outermost` (the
// function holding `pc`) with the line of the call it makes.
Stack with_inlined(Dwfl_Module* module, uint64_t pc, StackFrame outermost) {
  Dwarf_Addr bias = 0;
  Dwarf_Die* unit = dwfl_module_addrdie(module, pc, &bias);
  Dwarf_Die* scopes = nullptr;
  int count = unit ? dwarf_getscopes(unit, pc - bias, &scopes) : 0;
  Stack frames;
  // Scopes run from the innermost out, to the function holding `pc`; each
  // inlined one is a frame, called from the line its DIE names in the next
  // one out. Lexical blocks between them are no frames.
  StackFrame frame = outermost;  // the innermost's line is the line table's
  for (int i = 0; i < count; ++i) {
    int tag = dwarf_tag(&scopes[i]);
    if (tag == DW_TAG_subprogram || tag == DW_TAG_compile_unit || tag == DW_TAG_partial_unit) break;
    if (tag != DW_TAG_inlined_subroutine) continue;
    frame.function = inlined_name(&scopes[i]);
    frame.inlined = true;
    frames.push_back(frame);
    call_site(&scopes[i], unit, frame);
  }
  std::free(scopes);
  if (!frames.empty()) {
    outermost.file = frame.file;
    outermost.line = frame.line;
  }
  frames.push_back(std::move(outermost));
  return frames;
}

// A module's file, as the trace names it, opened for reading only if it is
// a regular file: a trace is input like any other, and a path in it to a
// FIFO, a device or /proc would hang or harm the reader. Opened without
// blocking (a FIFO would wait for a writer) and never as a terminal; -1 when
// it is gone or not a regular file.
int open_module_file(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

struct Symbolizer::Elfutils {
  Dwfl_Callbacks callbacks{};
  Dwfl* dwfl = nullptr;
  // Modules that opened and, where the trace has a build id, still match it:
  // a library rebuilt since the run would give wrong names, so it gives none.
  std::unordered_map<Dwfl_Module*, const trace::Module*> usable;

  explicit Elfutils(const std::vector<trace::Module>& modules) {
    callbacks.find_elf = dwfl_build_id_find_elf;
    callbacks.find_debuginfo = dwfl_standard_find_debuginfo;
    callbacks.section_address = dwfl_offline_section_address;
    dwfl = dwfl_begin(&callbacks);
    if (dwfl == nullptr) return;
    dwfl_report_begin(dwfl);
    for (const trace::Module& module : modules) {
      if (module.path.empty()) continue;
      std::string name(basename(module.path));
      const int fd = open_module_file(module.path);
      if (fd < 0) continue;  // gone, or not a regular file: its frames stay "??"
      Dwfl_Module* reported =
          dwfl_report_elf(dwfl, name.c_str(), module.path.c_str(), fd, module.base, false);
      if (reported == nullptr) {  // unreadable or overlapping: its frames stay "??"
        close(fd);
        continue;
      }
      if (!module.build_id.empty()) {
        const unsigned char* bits = nullptr;
        GElf_Addr vaddr = 0;
        int length = dwfl_module_build_id(reported, &bits, &vaddr);
        if (length > 0 && !same_build_id(hex(bits, length), module.build_id)) continue;
      }
      usable.emplace(reported, &module);
    }
    dwfl_report_end(dwfl, nullptr, nullptr);
  }
  ~Elfutils() {
    if (dwfl != nullptr) dwfl_end(dwfl);
  }
};

Symbolizer::Symbolizer(std::vector<trace::Module> modules) : modules_(std::move(modules)) {
  std::sort(modules_.begin(), modules_.end(),
            [](const trace::Module& a, const trace::Module& b) { return a.start < b.start; });
}

Symbolizer::~Symbolizer() = default;

const Stack& Symbolizer::symbolize(uint64_t ip) {
  auto found = cache_.find(ip);
  if (found != cache_.end()) return found->second;
  return cache_.emplace(ip, look_up(ip)).first->second;
}

const trace::Module* Symbolizer::module_containing(uint64_t address) const {
  auto after = std::upper_bound(modules_.begin(), modules_.end(), address,
                                [](uint64_t a, const trace::Module& m) { return a < m.start; });
  if (after == modules_.begin()) return nullptr;
  const trace::Module& candidate = *std::prev(after);
  return address < candidate.end ? &candidate : nullptr;
}

Stack Symbolizer::look_up(uint64_t ip) {
  StackFrame frame;
  frame.function = "??";
  frame.address = ip;
  if (ip == 0) return {frame};
  const uint64_t pc = ip - 1;  // inside the call instruction, not after it

  const trace::Module* module = module_containing(pc);
  if (!elfutils_) elfutils_ = std::make_unique<Elfutils>(modules_);
  Dwfl_Module* dwfl_module = elfutils_->dwfl ? dwfl_addrmodule(elfutils_->dwfl, pc) : nullptr;
  auto usable = elfutils_->usable.find(dwfl_module);
  if (module == nullptr && usable != elfutils_->usable.end()) module = usable->second;
  if (module != nullptr) {
    frame.module = module->path;
    frame.module_offset = pc - module->base;
  }
  if (dwfl_module == nullptr || usable == elfutils_->usable.end()) return {frame};

  GElf_Off offset = 0;
  GElf_Sym symbol{};
  if (const char* name = dwfl_module_addrinfo(dwfl_module, pc, &offset, &symbol, nullptr, nullptr, nullptr)) {
    frame.function = demangle(name);
  }
  if (Dwfl_Line* line = dwfl_module_getsrc(dwfl_module, pc)) {
    int line_number = 0;
    if (const char* file = dwfl_lineinfo(line, nullptr, &line_number, nullptr, nullptr, nullptr)) {
      frame.file = file;
      frame.line = line_number > 0 ? static_cast<uint32_t>(line_number) : 0;
    }
  }
  return with_inlined(dwfl_module, pc, std::move(frame));
}

}  // namespace vramscope::analysis
