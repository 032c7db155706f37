// Walks a command's arguments, taking "--name VALUE" and "--name=VALUE" alike.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"

namespace vramscope::cli {

class ArgCursor {
 public:
  ArgCursor(const Args& args, std::string command) : args_(args), command_(std::move(command)) {}

  // Moves to the next argument; false past the last.
  bool next();
  // The argument without its "=VALUE"; `is_option` when it starts with '-'.
  const std::string& arg() const { return arg_; }
  bool is_option() const { return arg_.size() > 1 && arg_[0] == '-'; }
  // The option's value: after '=', or the next argument. UsageError if none.
  std::string value();

  // The usage errors every command says the same way.
  [[noreturn]] void unknown_option() const;
  // A whole number (at most 9 digits), or UsageError naming the option.
  uint64_t whole_number();
  // The one operand a command takes (`noun`: "trace", "file"), or UsageError:
  // "which trace? (usage: ...)" for none, "one trace at a time" for more.
  std::string only_operand(const std::vector<std::string>& operands, const std::string& noun,
                           const std::string& usage) const;

 private:
  const Args& args_;
  std::string command_;
  size_t next_ = 0;
  std::string arg_;
  std::optional<std::string> inline_value_;
};

}  // namespace vramscope::cli
