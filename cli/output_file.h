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

// "vramscope: <message>" on standard error, an error or a notice, on one
// line a terminal only shows: a message may quote its input (a pickle's
// text, an argument, a path), so a newline or a byte the terminal would act
// on in it is written as \xHH.
void print_message(const std::string& message);

}  // namespace vramscope::cli
