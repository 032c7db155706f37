// Protocol-4 pickles of plain data (see pickle_writer.h). Containers are
// written as CPython does: EMPTY_LIST or EMPTY_DICT, then MARK, items and
// APPENDS or SETITEMS every 1,000 items; tuples as MARK, items, TUPLE.
#include "formats/pickle_writer.h"

#include <bit>
#include <cstring>
#include <stdexcept>

namespace vramscope::pickle {

namespace {

constexpr size_t kFrameTarget = 64 * 1024;
constexpr uint64_t kBatch = 1000;

void put_le(std::string& out, uint64_t value, int bytes) {
  for (int k = 0; k < bytes; ++k) out.push_back(static_cast<char>(value >> (8 * k)));
}

}  // namespace

Writer::Writer() { out_ = "\x80\x04"; }

void Writer::none() {
  frame_.push_back('N');
  item_written();
}

void Writer::boolean(bool value) {
  frame_.push_back(value ? '\x88' : '\x89');
  item_written();
}

void Writer::integer(int64_t value) {
  if (value >= 0 && value <= 0xff) {
    frame_.push_back('K');
    put_le(frame_, static_cast<uint64_t>(value), 1);
  } else if (value >= 0 && value <= 0xffff) {
    frame_.push_back('M');
    put_le(frame_, static_cast<uint64_t>(value), 2);
  } else if (value >= INT32_MIN && value <= INT32_MAX) {
    frame_.push_back('J');
    put_le(frame_, static_cast<uint64_t>(value), 4);
  } else {
    // LONG1: the fewest little-endian two's-complement bytes.
    int n = 8;
    auto byte = [&](int k) { return static_cast<uint8_t>(static_cast<uint64_t>(value) >> (8 * k)); };
    uint8_t fill = value < 0 ? 0xff : 0x00;
    while (n > 1 && byte(n - 1) == fill && ((byte(n - 2) & 0x80) != 0) == (value < 0)) --n;
    frame_ += '\x8a';
    frame_.push_back(static_cast<char>(n));
    put_le(frame_, static_cast<uint64_t>(value), n);
  }
  item_written();
}

void Writer::unsigned_integer(uint64_t value) {
  if (value <= static_cast<uint64_t>(INT64_MAX)) return integer(static_cast<int64_t>(value));
  frame_ += "\x8a\x09";
  put_le(frame_, value, 8);
  frame_.push_back('\0');  // the sign byte: positive
  item_written();
}

void Writer::number(double value) {
  frame_.push_back('G');
  uint64_t bits = std::bit_cast<uint64_t>(value);
  for (int k = 7; k >= 0; --k) frame_.push_back(static_cast<char>(bits >> (8 * k)));  // big-endian
  item_written();
}

void Writer::string(std::string_view value) {
  auto it = memo_.find(value);
  if (it != memo_.end()) {
    if (it->second <= 0xff) {
      frame_.push_back('h');
      put_le(frame_, it->second, 1);
    } else {
      frame_.push_back('j');
      put_le(frame_, it->second, 4);
    }
  } else {
    if (value.size() <= 0xff) {
      frame_ += '\x8c';
      put_le(frame_, value.size(), 1);
    } else if (value.size() <= UINT32_MAX) {
      frame_.push_back('X');
      put_le(frame_, value.size(), 4);
    } else {
      frame_ += '\x8d';
      put_le(frame_, value.size(), 8);
    }
    frame_ += value;
    frame_ += '\x94';  // MEMOIZE: the next index, as many as strings so far
    if (memo_.size() < UINT32_MAX) memo_.emplace(std::string(value), static_cast<uint32_t>(memo_.size()));
  }
  item_written();
}

void Writer::begin_list() { begin(Kind::List, "]("); }
void Writer::end_list() { end(Kind::List, 'e'); }
void Writer::begin_tuple() { begin(Kind::Tuple, "("); }
void Writer::end_tuple() { end(Kind::Tuple, 't'); }
void Writer::begin_dict() { begin(Kind::Dict, "}("); }
void Writer::end_dict() { end(Kind::Dict, 'u'); }

void Writer::begin(Kind kind, std::string_view opcodes) {
  frame_ += opcodes;
  open_.push_back({kind});
}

void Writer::end(Kind kind, char opcode) {
  if (open_.empty() || open_.back().kind != kind)
    throw std::logic_error("pickle writer: an end without its begin");
  if (kind == Kind::Dict && open_.back().batch % 2 != 0) {
    throw std::logic_error("pickle writer: a dict key without a value");
  }
  frame_.push_back(opcode);
  open_.pop_back();
  item_written();
}

void Writer::item_written() {
  if (open_.empty()) {
    ++top_values_;
  } else {
    Open& o = open_.back();
    ++o.batch;
    // A batch of 1,000 items (dict entries) is closed, and a new one begun.
    if (o.kind != Kind::Tuple && o.batch == (o.kind == Kind::Dict ? 2 * kBatch : kBatch)) {
      frame_ += o.kind == Kind::Dict ? "u(" : "e(";
      o.batch = 0;
    }
  }
  if (frame_.size() >= kFrameTarget) commit_frame();
}

void Writer::commit_frame() {
  if (frame_.empty()) return;
  out_ += '\x95';
  put_le(out_, frame_.size(), 8);
  out_ += frame_;
  frame_.clear();
}

std::string Writer::finish() {
  if (!open_.empty()) throw std::logic_error("pickle writer: finished with a container still open");
  if (top_values_ != 1) throw std::logic_error("pickle writer: a pickle holds exactly one value at the top");
  frame_.push_back('.');
  commit_frame();
  std::string done = std::move(out_);
  *this = Writer();
  return done;
}

}  // namespace vramscope::pickle
