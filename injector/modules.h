// The loaded objects (executable, libraries) that stack addresses fall in,
// written to the trace so names can be found after the run.
#pragma once

#include <cstdint>
#include <string_view>

namespace vramscope::inject {

// Finds this library's own code range, so its frames can be dropped.
void init_own_code_range();
bool in_own_code(uint64_t ip);

// Writes a module record (through `sink`) for every loaded object not yet
// written, when `ip` lies in none of those already written.
using ModuleSink = bool (*)(void* context, std::string_view path, uint64_t base, uint64_t start, uint64_t end,
                            std::string_view build_id_hex);
void note_module_of(uint64_t ip, ModuleSink sink, void* context);

// A forked child starts a new trace: every module is written again.
void forget_written_modules();

}  // namespace vramscope::inject
