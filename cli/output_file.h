// Where a command's JSON goes: a file, or standard output for "-".
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

namespace vramscope::cli {

// 2-space indented, one trailing newline; bytes that are not UTF-8 (a file
// name, an argument) are replaced rather than fail.
std::string json_text(const nlohmann::ordered_json& json);

// Throws UsageError (status 1) "cannot write PATH: <reason>".
void write_file(const std::string& path, const std::string& text);

// To standard output when `path` is "-", else to the file.
void write_output(const std::string& path, const std::string& text);

// A text report to `out`, what would act on a terminal escaped
// (analysis::text::terminal_text): its names come from the trace.
void print_text(const std::string& text, std::FILE* out = stdout);

}  // namespace vramscope::cli
