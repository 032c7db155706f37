// Python pickles read as data only (protocols 2 to 5): dicts, lists, tuples,
// strings, bytes, ints of any size, floats, booleans and None, with the memo
// and protocol-4 frames. No opcode that could run code is obeyed (GLOBAL,
// STACK_GLOBAL, REDUCE, BUILD, INST, OBJ, NEWOBJ, PERSID, EXT ...): reading
// one is an error that names it. What PyTorch's `_dump_snapshot` writes
// needs nothing more.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace vramscope::pickle {

// A pickle that cannot be read as data: truncated, malformed, nested too
// deep, referring to itself, or asking for code to run. The message is one
// line a user can act on, with the byte offset where it applies.
class PickleError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Type : uint8_t { None, Bool, Int, BigInt, Float, String, Bytes, List, Tuple, Dict };
std::string_view to_string(Type type);

class Document;

// One value of a read pickle: a light handle into its Document, valid while
// the Document lives. Accessors of the wrong type throw PickleError.
class Value {
 public:
  Type type() const;
  bool is_none() const;  // without decoding the value, as type() may
  // The value's identity in its Document: a value the pickle shares through
  // its memo (PyTorch's frames, say) has one id wherever it appears.
  uint32_t id() const { return node_; }

  bool as_bool() const;           // Bool, or an Int 0 or 1
  int64_t as_int() const;         // an Int (or a Bool) that fits 64 bits signed
  uint64_t as_uint() const;       // an Int or BigInt in [0, 2^64)
  double as_double() const;       // a Float, or any integer (rounded)
  std::string_view as_string() const;  // a String (UTF-8 as pickled) or Bytes

  // Lists and tuples: their items; dicts: their entries, in pickle order.
  size_t size() const;
  Value at(size_t index) const;      // item of a list or tuple
  Value key_at(size_t index) const;  // key of a dict entry
  Value value_at(size_t index) const;
  // The value of a dict's entry whose key is this string; nullopt when
  // absent (or when this is not a dict).
  std::optional<Value> find(std::string_view key) const;
  // Dicts with the same keys in the same order (a pickle's many records of
  // one kind) share a shape: its number, the same for all of them, or
  // kNoShape. A reader of many such dicts finds where each key sits once
  // per shape, then takes values by index.
  static constexpr uint32_t kNoShape = UINT32_MAX;
  uint32_t shape() const;
  // Lists and tuples: the identity of their items. Two with the same are
  // equal item for item (the reader keeps the items of a list that repeats
  // an earlier one's once, for both): a reader of millions of lists that
  // repeat (a snapshot's frames) decodes each only once. Two with different
  // ones may still be equal. kNoItems for any other value.
  static constexpr uint64_t kNoItems = UINT64_MAX;
  uint64_t items_id() const;

 private:
  friend class Document;
  Value(const Document* document, uint32_t node) : document_(document), node_(node) {}
  const Document* document_ = nullptr;
  uint32_t node_ = 0;
};

struct ReadLimits {
  size_t max_depth = 1000;  // containers inside containers
};

// A whole pickle, read. Strings and bytes point into the pickle's own bytes,
// which the Document keeps: its memory is the file's plus a few words per
// value.
class Document {
 public:
  // Reads `bytes` (taken over, not copied). `source` names it in messages.
  static Document read(std::vector<uint8_t> bytes, const std::string& source, ReadLimits limits = {});
  // Reads a file; a missing or unreadable one is a PickleError too.
  static Document read_file(const std::string& path, ReadLimits limits = {});

  Document(Document&&) noexcept;
  Document& operator=(Document&&) noexcept;
  ~Document();

  Value root() const;
  // Bytes of the pickle, and values read from it (for benchmarks).
  size_t byte_count() const;
  size_t value_count() const;

 private:
  friend class Value;
  friend class Reader;
  struct Impl;
  explicit Document(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// True when the bytes begin as a pickle of protocol 2 or later (PROTO opcode).
bool looks_like_pickle(std::span<const uint8_t> first_bytes);

}  // namespace vramscope::pickle
