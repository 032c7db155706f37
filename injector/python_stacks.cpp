#include "injector/python_stacks.h"

#include <dlfcn.h>
#include <link.h>

#include <atomic>
#include <cstring>

namespace vramscope::inject {

namespace {

// The interpreter's C API, looked up in the process (no Python headers: one
// injector serves every Python version from 3.9, when PyFrame_GetCode came).
struct PyObject;
using TraceFunc = int (*)(PyObject*, PyObject*, int, PyObject*);
struct PythonApi {
  void (*set_profile)(TraceFunc, PyObject*) = nullptr;
  PyObject* (*frame_code)(PyObject*) = nullptr;
  int (*frame_line)(PyObject*) = nullptr;
  int (*frame_lasti)(PyObject*) = nullptr;     // 3.11 on; else lines are taken at each call
  int (*code_line)(PyObject*, int) = nullptr;  // PyCode_Addr2Line: reads the code's table only
  PyObject* (*current_frame)() = nullptr;      // PyEval_GetFrame: borrowed
  // Where a code object keeps co_name and co_filename, found once by looking
  // for the attributes' values in a live code object; -1: ask by attribute.
  int name_offset = -1;
  int file_offset = -1;
  PyObject* (*get_attr)(PyObject*, PyObject*) = nullptr;
  const char* (*utf8)(PyObject*) = nullptr;
  void (*dec_ref)(PyObject*) = nullptr;
  void (*clear_error)() = nullptr;
  PyObject* co_name = nullptr;
  PyObject* co_filename = nullptr;
};
PythonApi g_python;
uint64_t g_interpreter_start = 0;
uint64_t g_interpreter_end = 0;

constexpr int kCall = 0;    // PyTrace_CALL
constexpr int kReturn = 3;  // PyTrace_RETURN
constexpr int kCCall = 4;   // PyTrace_C_CALL: a Python frame calls C (a builtin, an extension)

const char* utf8_of(PyObject* text) {
  const char* utf8 = text ? g_python.utf8(text) : nullptr;  // cached in the string after the first time
  if (!utf8) g_python.clear_error();
  return utf8 ? utf8 : "?";
}

const char* name_of(PyObject* code, PyObject* attribute, int offset) {
  if (offset >= 0)
    return utf8_of(*reinterpret_cast<PyObject* const*>(reinterpret_cast<const char*>(code) + offset));
  PyObject* text = g_python.get_attr(code, attribute);
  if (!text) {
    g_python.clear_error();
    return "?";
  }
  const char* utf8 = g_python.utf8(text);
  // The code object holds the string: it outlives this reference.
  g_python.dec_ref(text);
  if (!utf8) {
    g_python.clear_error();
    return "?";
  }
  return utf8;
}

// A line the interpreter gave: 0 where it has none (-1).
uint32_t line_number(int line) { return line > 0 ? static_cast<uint32_t>(line) : 0; }

uint32_t line_of(PyObject* frame) { return line_number(g_python.frame_line(frame)); }

// Notes where `shadow`'s frame is: the instruction (the line is found when an
// event needs it), or the line itself where the interpreter cannot say.
void note_position(PythonShadow& shadow, PyObject* frame) {
  if (g_python.frame_lasti) {
    shadow.lasti = g_python.frame_lasti(frame);
  } else {
    shadow.line = line_of(frame);
  }
}

// Keeps the shadow: a call pushes its frame (and notes where its caller is),
// a return pops it, a call into C notes where the innermost frame is.
int on_python_event(PyObject*, PyObject* frame, int what, PyObject*) {
  if (what != kCall && what != kReturn && what != kCCall) return 0;
  ThreadState* ts = thread_state();
  if (!ts) return 0;
  if (what == kReturn) {
    if (ts->python_depth > 0) --ts->python_depth;
    return 0;
  }
  if (what == kCCall) {
    const int innermost = ts->python_depth - 1;
    if (innermost >= 0 && innermost < kMaxPythonFrames && ts->python[innermost].frame == frame)
      note_position(ts->python[innermost], frame);
    return 0;
  }
  const int depth = ts->python_depth++;
  if (depth >= kMaxPythonFrames) return 0;
  if (depth > 0 && ts->python[depth - 1].frame) {
    PythonShadow& caller = ts->python[depth - 1];
    note_position(caller, static_cast<PyObject*>(const_cast<void*>(caller.frame)));
  }
  PythonShadow& shadow = ts->python[depth];
  shadow.frame = nullptr;  // a half-written entry is never read
  PyObject* code = g_python.frame_code(frame);
  if (!code) {
    g_python.clear_error();
    return 0;
  }
  shadow.function = name_of(code, g_python.co_name, g_python.name_offset);
  shadow.file = name_of(code, g_python.co_filename, g_python.file_offset);
  g_python.dec_ref(code);  // the frame holds its code
  shadow.code = code;
  shadow.lasti = -1;
  shadow.line = 0;
  if (g_python.frame_lasti) note_position(shadow, frame);
  shadow.frame = frame;
  return 0;
}

// The executable code of the module holding the address `*context` points to.
int find_interpreter(dl_phdr_info* info, size_t, void* context) {
  const uint64_t target = *static_cast<const uint64_t*>(context);
  bool holds = false;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& segment = info->dlpi_phdr[i];
    const uint64_t start = info->dlpi_addr + segment.p_vaddr;
    holds |= segment.p_type == PT_LOAD && target >= start && target < start + segment.p_memsz;
  }
  if (!holds) return 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& segment = info->dlpi_phdr[i];
    if (segment.p_type != PT_LOAD || !(segment.p_flags & PF_X)) continue;
    uint64_t start = info->dlpi_addr + segment.p_vaddr;
    uint64_t end = start + segment.p_memsz;
    if (g_interpreter_start == 0 || start < g_interpreter_start) g_interpreter_start = start;
    if (end > g_interpreter_end) g_interpreter_end = end;
  }
  return 1;
}

template <typename Fn>
bool look_up(Fn& fn, const char* name) {
  fn = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
  return fn != nullptr;
}

// The offset in a code object of the pointer `value`, searched in its first
// words; -1 when not found.
int offset_of(PyObject* object, PyObject* value) {
  auto* words = reinterpret_cast<PyObject* const*>(object);
  for (int i = 0; i < 48; ++i) {
    if (words[i] == value) return i * static_cast<int>(sizeof(PyObject*));
  }
  return -1;
}

// Finds where code objects keep their name and file, on the caller's own
// code; both found, or neither.
void find_name_offsets(PythonApi& api) {
  PyObject* frame = api.current_frame ? api.current_frame() : nullptr;
  PyObject* code = frame ? api.frame_code(frame) : nullptr;
  if (!code) return;
  PyObject* name = api.get_attr(code, api.co_name);
  PyObject* file = api.get_attr(code, api.co_filename);
  if (name && file && name != file) {
    api.name_offset = offset_of(code, name);
    api.file_offset = offset_of(code, file);
    if (api.name_offset < 0 || api.file_offset < 0) api.name_offset = api.file_offset = -1;
  }
  if (name) api.dec_ref(name);
  if (file) api.dec_ref(file);
  api.clear_error();
  api.dec_ref(code);
}

uint64_t mix(uint64_t h, std::string_view text) {
  for (unsigned char c : text) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

}  // namespace

bool python_stacks_on() { return state().python_stacks.load(std::memory_order_relaxed); }

bool in_interpreter(uint64_t ip) { return ip >= g_interpreter_start && ip < g_interpreter_end; }

int python_depth(const ThreadState* ts) {
  return ts->python_depth < kMaxPythonFrames ? ts->python_depth : kMaxPythonFrames;
}

PythonFrame python_frame(const ThreadState* ts, int i) {
  const PythonShadow& shadow = ts->python[i];
  PythonFrame f;
  if (!shadow.frame) return f;
  f.function = shadow.function;
  f.file = shadow.file;
  f.line = shadow.line;
  if (shadow.lasti >= 0 && g_python.code_line) {
    f.line =
        line_number(g_python.code_line(static_cast<PyObject*>(const_cast<void*>(shadow.code)), shadow.lasti));
  }
  f.key = mix(mix(0xcbf29ce484222325ull ^ f.line, f.function), f.file) | 1;
  return f;
}

}  // namespace vramscope::inject

using namespace vramscope::inject;

// Called from Python with the interpreter's lock held (ctypes.PyDLL), once
// in each thread: keeps that thread's shadow from now on. Returns 0, or -1
// when this interpreter lacks what it needs.
extern "C" __attribute__((visibility("default"))) int vramscope_python_stacks_start() {
  if (!g_python.set_profile) {
    PythonApi api;
    PyObject* (*intern)(const char*) = nullptr;
    if (!look_up(api.set_profile, "PyEval_SetProfile") || !look_up(api.frame_code, "PyFrame_GetCode") ||
        !look_up(api.frame_line, "PyFrame_GetLineNumber") || !look_up(api.get_attr, "PyObject_GetAttr") ||
        !look_up(api.utf8, "PyUnicode_AsUTF8") || !look_up(api.dec_ref, "Py_DecRef") ||
        !look_up(api.clear_error, "PyErr_Clear") || !look_up(intern, "PyUnicode_InternFromString")) {
      return -1;
    }
    api.co_name = intern("co_name");
    api.co_filename = intern("co_filename");
    if (!api.co_name || !api.co_filename) return -1;
    // Python 3.11 on: the instruction at each call, its line only when an event needs it.
    if (look_up(api.frame_lasti, "PyFrame_GetLasti") && !look_up(api.code_line, "PyCode_Addr2Line"))
      api.frame_lasti = nullptr;
    look_up(api.current_frame, "PyEval_GetFrame");
    find_name_offsets(api);
    uint64_t inside = reinterpret_cast<uint64_t>(api.set_profile);
    dl_iterate_phdr(find_interpreter, &inside);
    g_python = api;
  }
  if (!state().python_frames.ready() && !state().python_frames.init(size_t{1} << 16)) return -1;
  g_python.set_profile(on_python_event, nullptr);
  state().python_stacks.store(true, std::memory_order_relaxed);
  return 0;
}
