// Argument walking shared by the commands.
#include "cli/arg_cursor.h"

namespace vramscope::cli {

bool ArgCursor::next() {
  if (next_ >= args_.size()) return false;
  arg_ = args_[next_++];
  inline_value_.reset();
  size_t equals = arg_.find('=');
  if (arg_.starts_with("--") && equals != std::string::npos) {
    inline_value_ = arg_.substr(equals + 1);
    arg_.resize(equals);
  }
  return true;
}

std::string ArgCursor::value() {
  if (inline_value_) return *inline_value_;
  if (next_ >= args_.size()) {
    throw UsageError{command_ + ": " + arg_ + " needs a value (try 'vramscope " + command_ + " --help')"};
  }
  return args_[next_++];
}

void ArgCursor::unknown_option() const {
  throw UsageError{command_ + ": unknown option '" + args_[next_ - 1] + "' (try 'vramscope " + command_ +
                   " --help')"};
}

uint64_t ArgCursor::whole_number() {
  std::string text = value();
  bool digits = !text.empty() && text.size() <= 9;
  uint64_t number = 0;
  for (char c : text) {
    if (c < '0' || c > '9') digits = false;
    number = number * 10 + static_cast<uint64_t>(c - '0');
  }
  if (!digits) throw UsageError{command_ + ": " + arg_ + " wants a whole number, not '" + text + "'"};
  return number;
}

std::string ArgCursor::only_operand(const std::vector<std::string>& operands, const std::string& noun,
                                    const std::string& usage) const {
  if (operands.empty()) throw UsageError{command_ + ": which " + noun + "? (usage: " + usage + ")"};
  if (operands.size() > 1) {
    throw UsageError{command_ + ": one " + noun + " at a time, not " + std::to_string(operands.size())};
  }
  return operands.front();
}

}  // namespace vramscope::cli
