// Reads Python pickles as plain data (see pickle.h). A stack machine over the
// opcodes that keeps, for each value, one 32-bit reference: a scalar is the
// byte offset of the opcode that made it (decoded again when asked for), a
// container an index into one table whose items lie in one flat array of
// references. Nothing is allocated per value, nothing recursive runs on the
// C stack, and no array ever grows by copying itself (see PageArray).
#include "formats/pickle.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <new>
#include <type_traits>
#include <unordered_map>

#include "formats/populated_memory.h"

namespace vramscope::pickle {

namespace {

// The opcodes of protocols 0 to 5, by the names CPython's pickletools gives.
enum Op : uint8_t {
  MARK = '(',
  STOP = '.',
  POP = '0',
  POP_MARK = '1',
  DUP = '2',
  FLOAT = 'F',
  INT = 'I',
  BININT = 'J',
  BININT1 = 'K',
  LONG = 'L',
  BININT2 = 'M',
  NONE = 'N',
  PERSID = 'P',
  BINPERSID = 'Q',
  REDUCE = 'R',
  STRING = 'S',
  BINSTRING = 'T',
  SHORT_BINSTRING = 'U',
  UNICODE = 'V',
  BINUNICODE = 'X',
  APPEND = 'a',
  BUILD = 'b',
  GLOBAL = 'c',
  DICT = 'd',
  EMPTY_DICT = '}',
  APPENDS = 'e',
  GET = 'g',
  BINGET = 'h',
  INST = 'i',
  LONG_BINGET = 'j',
  LIST = 'l',
  EMPTY_LIST = ']',
  OBJ = 'o',
  PUT = 'p',
  BINPUT = 'q',
  LONG_BINPUT = 'r',
  SETITEM = 's',
  TUPLE = 't',
  EMPTY_TUPLE = ')',
  SETITEMS = 'u',
  BINFLOAT = 'G',
  PROTO = 0x80,
  NEWOBJ = 0x81,
  EXT1 = 0x82,
  EXT2 = 0x83,
  EXT4 = 0x84,
  TUPLE1 = 0x85,
  TUPLE2 = 0x86,
  TUPLE3 = 0x87,
  NEWTRUE = 0x88,
  NEWFALSE = 0x89,
  LONG1 = 0x8a,
  LONG4 = 0x8b,
  BINBYTES = 'B',
  SHORT_BINBYTES = 'C',
  SHORT_BINUNICODE = 0x8c,
  BINUNICODE8 = 0x8d,
  BINBYTES8 = 0x8e,
  EMPTY_SET = 0x8f,
  ADDITEMS = 0x90,
  FROZENSET = 0x91,
  NEWOBJ_EX = 0x92,
  STACK_GLOBAL = 0x93,
  MEMOIZE = 0x94,
  FRAME = 0x95,
  BYTEARRAY8 = 0x96,
  NEXT_BUFFER = 0x97,
  READONLY_BUFFER = 0x98,
};

const char* opcode_name(uint8_t op) {
  static constexpr std::pair<uint8_t, const char*> kNames[] = {{MARK, "MARK"},
                                                               {STOP, "STOP"},
                                                               {POP, "POP"},
                                                               {POP_MARK, "POP_MARK"},
                                                               {DUP, "DUP"},
                                                               {FLOAT, "FLOAT"},
                                                               {INT, "INT"},
                                                               {BININT, "BININT"},
                                                               {BININT1, "BININT1"},
                                                               {LONG, "LONG"},
                                                               {BININT2, "BININT2"},
                                                               {NONE, "NONE"},
                                                               {PERSID, "PERSID"},
                                                               {BINPERSID, "BINPERSID"},
                                                               {REDUCE, "REDUCE"},
                                                               {STRING, "STRING"},
                                                               {BINSTRING, "BINSTRING"},
                                                               {SHORT_BINSTRING, "SHORT_BINSTRING"},
                                                               {UNICODE, "UNICODE"},
                                                               {BINUNICODE, "BINUNICODE"},
                                                               {APPEND, "APPEND"},
                                                               {BUILD, "BUILD"},
                                                               {GLOBAL, "GLOBAL"},
                                                               {DICT, "DICT"},
                                                               {EMPTY_DICT, "EMPTY_DICT"},
                                                               {APPENDS, "APPENDS"},
                                                               {GET, "GET"},
                                                               {BINGET, "BINGET"},
                                                               {INST, "INST"},
                                                               {LONG_BINGET, "LONG_BINGET"},
                                                               {LIST, "LIST"},
                                                               {EMPTY_LIST, "EMPTY_LIST"},
                                                               {OBJ, "OBJ"},
                                                               {PUT, "PUT"},
                                                               {BINPUT, "BINPUT"},
                                                               {LONG_BINPUT, "LONG_BINPUT"},
                                                               {SETITEM, "SETITEM"},
                                                               {TUPLE, "TUPLE"},
                                                               {EMPTY_TUPLE, "EMPTY_TUPLE"},
                                                               {SETITEMS, "SETITEMS"},
                                                               {BINFLOAT, "BINFLOAT"},
                                                               {PROTO, "PROTO"},
                                                               {NEWOBJ, "NEWOBJ"},
                                                               {EXT1, "EXT1"},
                                                               {EXT2, "EXT2"},
                                                               {EXT4, "EXT4"},
                                                               {TUPLE1, "TUPLE1"},
                                                               {TUPLE2, "TUPLE2"},
                                                               {TUPLE3, "TUPLE3"},
                                                               {NEWTRUE, "NEWTRUE"},
                                                               {NEWFALSE, "NEWFALSE"},
                                                               {LONG1, "LONG1"},
                                                               {LONG4, "LONG4"},
                                                               {BINBYTES, "BINBYTES"},
                                                               {SHORT_BINBYTES, "SHORT_BINBYTES"},
                                                               {SHORT_BINUNICODE, "SHORT_BINUNICODE"},
                                                               {BINUNICODE8, "BINUNICODE8"},
                                                               {BINBYTES8, "BINBYTES8"},
                                                               {EMPTY_SET, "EMPTY_SET"},
                                                               {ADDITEMS, "ADDITEMS"},
                                                               {FROZENSET, "FROZENSET"},
                                                               {NEWOBJ_EX, "NEWOBJ_EX"},
                                                               {STACK_GLOBAL, "STACK_GLOBAL"},
                                                               {MEMOIZE, "MEMOIZE"},
                                                               {FRAME, "FRAME"},
                                                               {BYTEARRAY8, "BYTEARRAY8"},
                                                               {NEXT_BUFFER, "NEXT_BUFFER"},
                                                               {READONLY_BUFFER, "READONLY_BUFFER"}};
  for (const auto& [code, name] : kNames) {
    if (code == op) return name;
  }
  return nullptr;
}

uint32_t le32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint64_t le64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// An array in its own pages that grows by remapping them (mremap), never by
// copying: reading a pickle peaks at what it holds, not at twice that as a
// std::vector would while it reallocates. Pages past size() are still zero.
template <typename T>
class PageArray {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  PageArray() = default;
  PageArray(const PageArray&) = delete;
  PageArray& operator=(const PageArray&) = delete;
  PageArray(PageArray&& other) noexcept { *this = std::move(other); }
  PageArray& operator=(PageArray&& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    std::swap(capacity_, other.capacity_);
    return *this;
  }
  ~PageArray() {
    if (data_ != nullptr) munmap(data_, capacity_ * sizeof(T));
  }

  size_t size() const { return size_; }
  T* data() { return data_; }
  const T* data() const { return data_; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }

  void push_back(const T& value) {
    if (size_ == capacity_) grow(size_ + 1);
    data_[size_++] = value;
  }
  void append(const T* values, size_t n) {
    if (n > capacity_ - size_) grow(size_ + n);
    if (n != 0) std::memcpy(data_ + size_, values, n * sizeof(T));
    size_ += n;
  }
  // Grows to `n` items; the new ones are zero (never-written pages).
  void grow_zeroed(size_t n) {
    if (n > capacity_) grow(n);
    size_ = std::max(size_, n);
  }

 private:
  void grow(size_t needed) {
    size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    size_t bytes = std::max({needed * sizeof(T), capacity_ * sizeof(T) * 2, size_t{64} << 10});
    bytes = (bytes + page - 1) / page * page;
    void* p = data_ == nullptr
                  ? mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
                  : mremap(data_, capacity_ * sizeof(T), bytes, MREMAP_MAYMOVE);
    if (p == MAP_FAILED) throw std::bad_alloc();
    // In 2 MiB pages where the kernel allows: a fault per 4 KiB costs as much
    // as the page's zeroing, in a virtual machine more.
    madvise(p, bytes, MADV_HUGEPAGE);
    data_ = static_cast<T*>(p);
    capacity_ = bytes / sizeof(T);
  }

  T* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

// A list, tuple or dict: its items (a dict's as key, value, key, value ...)
// are `count` (twice that for a dict) references from words[first], or, for
// the few that got items in several batches with other values made in
// between, in a side vector until the end of the read. A dict whose keys are
// those of many others (every trace entry has the same seven) keeps only its
// values there, and in `count` the number of its Shape: its keys, kept once.
enum class Kind : uint32_t { List, Tuple, Dict };
struct Container {
  uint32_t first = 0;
  uint32_t count : 27 = 0;
  uint32_t kind : 2 = 0;
  uint32_t shaped : 1 = 0;
  uint32_t in_side : 1 = 0;
  uint32_t has_parent : 1 = 0;  // already inside another container
};
static_assert(sizeof(Container) == 8);
constexpr uint32_t kMaxCount = (1u << 27) - 1;

// The keys of shaped dicts: `count` scalar references from shape_keys[first].
struct Shape {
  uint32_t first = 0;
  uint32_t count = 0;
};
constexpr size_t kMaxShapeKeys = 32;
constexpr size_t kMaxShapes = 1 << 16;

// A reference: a scalar's opcode offset times two, or a container's index
// times two plus one.
bool is_container(uint32_t ref) { return (ref & 1) != 0; }
uint32_t container_index(uint32_t ref) { return ref >> 1; }
uint32_t scalar_ref(size_t offset) { return static_cast<uint32_t>(offset << 1); }
uint32_t container_ref(size_t index) { return static_cast<uint32_t>(index << 1 | 1); }
constexpr size_t kMaxBytes = size_t{1} << 31;

// The text of a protocol-0 opcode's argument, up to its newline (excluded).
std::string_view line_at(const uint8_t* data, size_t size, size_t pos) {
  const void* nl = std::memchr(data + pos, '\n', size - pos);
  if (nl == nullptr) return {};
  return {reinterpret_cast<const char*>(data + pos),
          static_cast<size_t>(static_cast<const uint8_t*>(nl) - (data + pos))};
}

// An integer of any size as decoded: whether it fits 64 bits, and how.
struct Integer {
  bool fits_signed = false;
  bool fits_unsigned = false;
  int64_t signed_value = 0;
  uint64_t unsigned_value = 0;
  double approximate = 0;
};

Integer integer_from_signed(int64_t v) {
  Integer i;
  i.fits_signed = true;
  i.signed_value = v;
  i.fits_unsigned = v >= 0;
  i.unsigned_value = static_cast<uint64_t>(v);
  i.approximate = static_cast<double>(v);
  return i;
}

// LONG1/LONG4 bytes: little-endian two's complement of any length.
Integer integer_from_bytes(const uint8_t* p, size_t n) {
  if (n == 0) return integer_from_signed(0);
  bool negative = (p[n - 1] & 0x80) != 0;
  if (n <= 8) {  // every address and size of a snapshot: one load, the sign extended
    uint64_t v = 0;
    std::memcpy(&v, p, n);
    if (negative && n < 8) v |= ~uint64_t{0} << (8 * n);
    return integer_from_signed(static_cast<int64_t>(v));
  }
  uint8_t fill = negative ? 0xff : 0x00;
  size_t used = n;  // without the bytes that only repeat the sign
  while (used > 1 && p[used - 1] == fill && ((p[used - 2] & 0x80) != 0) == negative) --used;
  Integer i;
  if (used <= 8) {
    uint64_t v = negative ? ~uint64_t{0} : 0;
    for (size_t k = 0; k < used; ++k) {
      v &= ~(uint64_t{0xff} << (8 * k));
      v |= uint64_t{p[k]} << (8 * k);
    }
    return integer_from_signed(static_cast<int64_t>(v));
  }
  if (!negative && used == 9 && p[8] == 0) {
    i.fits_unsigned = true;
    i.unsigned_value = le64(p);
  }
  double scale = 1;
  for (size_t k = 0; k < used; ++k, scale *= 256) {
    uint8_t byte = negative ? static_cast<uint8_t>(~p[k]) : p[k];
    i.approximate += byte * scale;
  }
  if (negative) i.approximate = -i.approximate - 1;
  return i;
}

// INT and LONG text: decimal digits with an optional sign (and, for LONG,
// an optional trailing L). nullopt when malformed.
std::optional<Integer> integer_from_text(std::string_view text) {
  if (!text.empty() && text.back() == 'L') text.remove_suffix(1);
  std::string_view digits = text;
  if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) digits.remove_prefix(1);
  if (digits.empty() || digits.size() > 5000) return std::nullopt;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  if (text[0] == '+') text.remove_prefix(1);
  int64_t s = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), s);
  if (ec == std::errc{} && end == text.data() + text.size()) return integer_from_signed(s);
  Integer i;
  if (text[0] != '-') {
    uint64_t u = 0;
    auto [uend, uec] = std::from_chars(text.data(), text.data() + text.size(), u);
    if (uec == std::errc{} && uend == text.data() + text.size()) {
      i.fits_unsigned = true;
      i.unsigned_value = u;
    }
  }
  double scale = 1;
  for (size_t k = digits.size(); k-- > 0; scale *= 10) i.approximate += (digits[k] - '0') * scale;
  if (text[0] == '-') i.approximate = -i.approximate;
  return i;
}

std::optional<double> float_from_text(std::string_view text) {
  double d = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return d;
}

}  // namespace

struct Document::Impl {
  std::vector<uint8_t> bytes;             // the pickle, when given as a vector or read from a pipe
  std::unique_ptr<const uint8_t[], Unmap> mapping;  // or the file, mapped
  const uint8_t* data = nullptr;
  size_t size = 0;
  std::string source;
  PageArray<uint32_t> words;
  PageArray<Container> containers;
  std::vector<Shape> shapes;
  std::vector<uint32_t> shape_keys;
  uint32_t root = 0;
  size_t value_count = 0;

  [[noreturn]] void fail(const std::string& what) const {
    throw PickleError(source.empty() ? what : source + ": " + what);
  }
  [[noreturn]] void wrong_type(uint32_t ref, const char* wanted) const {
    fail(std::string("expected ") + wanted + ", found " + std::string(to_string(type_of(ref))));
  }

  Type type_of(uint32_t ref) const {
    if (is_container(ref)) {
      switch (static_cast<Kind>(containers[container_index(ref)].kind)) {
        case Kind::List:
          return Type::List;
        case Kind::Tuple:
          return Type::Tuple;
        case Kind::Dict:
          return Type::Dict;
      }
    }
    size_t at = ref >> 1;
    switch (data[at]) {
      case NONE:
        return Type::None;
      case NEWTRUE:
      case NEWFALSE:
        return Type::Bool;
      case INT: {
        std::string_view text = line_at(data, size, at + 1);
        if (text == "00" || text == "01") return Type::Bool;
        return integer(ref).fits_signed ? Type::Int : Type::BigInt;
      }
      case BININT:
      case BININT1:
      case BININT2:
        return Type::Int;
      case LONG:
      case LONG1:
      case LONG4:
        return integer(ref).fits_signed ? Type::Int : Type::BigInt;
      case FLOAT:
      case BINFLOAT:
        return Type::Float;
      case SHORT_BINUNICODE:
      case BINUNICODE:
      case BINUNICODE8:
      case UNICODE:
      case SHORT_BINSTRING:
      case BINSTRING:
        return Type::String;
      default:
        return Type::Bytes;
    }
  }

  Integer integer(uint32_t ref) const {
    size_t at = ref >> 1;
    const uint8_t* p = data + at + 1;
    switch (is_container(ref) ? 0 : data[at]) {
      case BININT1:
        return integer_from_signed(p[0]);
      case BININT2:
        return integer_from_signed(p[0] | p[1] << 8);
      case BININT:
        return integer_from_signed(static_cast<int32_t>(le32(p)));
      case LONG1:
        return integer_from_bytes(p + 1, p[0]);
      case LONG4:
        return integer_from_bytes(p + 4, le32(p));
      case NEWTRUE:
        return integer_from_signed(1);
      case NEWFALSE:
        return integer_from_signed(0);
      case INT:
      case LONG:
        return *integer_from_text(line_at(data, size, at + 1));  // checked when read
      default:
        wrong_type(ref, "an integer");
    }
  }

  std::string_view text(uint32_t ref) const {
    size_t at = ref >> 1;
    const uint8_t* p = data + at + 1;
    auto view = [](const uint8_t* start, uint64_t n) {
      return std::string_view(reinterpret_cast<const char*>(start), n);
    };
    switch (is_container(ref) ? 0 : data[at]) {
      case SHORT_BINUNICODE:
      case SHORT_BINSTRING:
      case SHORT_BINBYTES:
        return view(p + 1, p[0]);
      case BINUNICODE:
      case BINSTRING:
      case BINBYTES:
        return view(p + 4, le32(p));
      case BINUNICODE8:
      case BINBYTES8:
      case BYTEARRAY8:
        return view(p + 8, le64(p));
      case UNICODE:
        return line_at(data, size, at + 1);
      default:
        wrong_type(ref, "a string");
    }
  }

  const Container& container(uint32_t ref, const char* wanted) const {
    if (!is_container(ref)) wrong_type(ref, wanted);
    return containers[container_index(ref)];
  }
  // Items, or dict entries.
  size_t size_of(const Container& c) const { return c.shaped ? shapes[c.count].count : c.count; }
  uint32_t key(const Container& c, size_t k) const {
    return c.shaped ? shape_keys[shapes[c.count].first + k] : words[c.first + 2 * k];
  }
  uint32_t value(const Container& c, size_t k) const {
    return c.shaped ? words[c.first + k] : words[c.first + 2 * k + 1];
  }
  // The dict `node` is, with an entry `index`.
  const Container& dict_entry(uint32_t node, size_t index) const {
    const Container& c = container(node, "a dict");
    if (c.kind != static_cast<uint32_t>(Kind::Dict)) wrong_type(node, "a dict");
    if (index >= size_of(c)) {
      fail("entry " + std::to_string(index) + " asked of a dict of " + std::to_string(size_of(c)));
    }
    return c;
  }
  // How many references of words[first] on it holds.
  size_t word_count(const Container& c) const {
    return c.shaped ? shapes[c.count].count
                    : c.count * (c.kind == static_cast<uint32_t>(Kind::Dict) ? 2u : 1u);
  }
};

// The stack machine. Every check that the bytes justify what they ask for
// comes before any use of them.
class Reader {
 public:
  Reader(Document::Impl& doc, ReadLimits limits)
      : doc_(doc),
        data_(doc.data),
        size_(doc.size),
        max_depth_(std::min<size_t>(std::max<size_t>(limits.max_depth, 1), 60000)) {}

  void run();

 private:
  [[noreturn]] void fail(const std::string& what) const { doc_.fail(what); }
  [[noreturn]] void fail_at(const std::string& what) const {
    fail(std::string("opcode ") + opcode_name(op_) + " at byte " + std::to_string(op_at_) + ": " + what);
  }
  [[noreturn]] void truncated(size_t wanted) const {
    fail("truncated: opcode " + std::string(opcode_name(op_)) + " at byte " + std::to_string(op_at_) +
         " needs " + std::to_string(wanted) + " more bytes, the pickle has " + std::to_string(size_ - pos_));
  }
  void need(uint64_t n) const {
    if (n > size_ - pos_) truncated(n);
  }
  // A length read from the pickle, checked against what is left of it.
  size_t length(uint64_t n) const {
    if (n > size_ - pos_) {
      fail("opcode " + std::string(opcode_name(op_)) + " at byte " + std::to_string(op_at_) + " announces " +
           std::to_string(n) + " bytes, past the end of the pickle (" + std::to_string(size_ - pos_) +
           " left): it is truncated or corrupt");
    }
    return static_cast<size_t>(n);
  }
  // A length of `width` bytes, then that many bytes.
  void counted(size_t width, bool is_signed = false) {
    need(width);
    uint64_t n = width == 1 ? data_[pos_] : width == 4 ? le32(data_ + pos_) : le64(data_ + pos_);
    if (is_signed && static_cast<int32_t>(n) < 0) fail_at("a negative length");
    pos_ += width;
    pos_ += length(n);
  }
  std::string_view line() {
    std::string_view text = line_at(data_, size_, pos_);
    if (text.data() == nullptr) {
      fail("truncated: opcode " + std::string(opcode_name(op_)) + " at byte " + std::to_string(op_at_) +
           " has no end of line");
    }
    pos_ += text.size() + 1;
    return text;
  }

  size_t fence() const { return marks_.empty() ? 0 : marks_.back(); }
  void need_items(size_t n) const {
    if (stack_.size() < fence() + n) fail_at("the stack has too few items (a malformed pickle)");
  }
  size_t pop_mark() {
    if (marks_.empty()) fail_at("no MARK before it (a malformed pickle)");
    size_t mark = marks_.back();
    marks_.pop_back();
    return mark;
  }
  void push_scalar() {
    stack_.push_back(scalar_ref(op_at_));
    ++doc_.value_count;
  }

  uint32_t new_container(Kind kind) {
    if (doc_.containers.size() >= kMaxBytes) fail_at("too many containers");
    Container c;
    c.kind = static_cast<uint32_t>(kind);
    doc_.containers.push_back(c);
    heights_.push_back(1);
    ++doc_.value_count;
    return container_ref(doc_.containers.size() - 1);
  }
  void add_items(uint32_t target, const uint32_t* items, size_t n);
  // Where `n` items now lie in the words, appended.
  uint32_t append_items(const uint32_t* items, size_t n) {
    uint32_t first = static_cast<uint32_t>(doc_.words.size());
    doc_.words.append(items, n);
    return first;
  }
  uint32_t shared_items(const uint32_t* items, size_t n);
  void memo_put(uint64_t index);
  uint32_t memo_get(uint64_t index) const;
  void finish();
  void check_depth_and_cycles() const;

  Document::Impl& doc_;
  const uint8_t* data_;
  size_t size_;
  size_t max_depth_;
  size_t pos_ = 0;
  size_t op_at_ = 0;
  uint8_t op_ = 0;
  std::vector<uint32_t> stack_;
  std::vector<size_t> marks_;
  // The memo: the reference of each index from 0 up, as a pickler gives
  // them out (every value it makes, in order); an index stored out of order
  // past the end lies aside until the indices before it arrive.
  PageArray<uint32_t> memo_;  // grows without a copy: a pickle may memoize a hundred million values
  std::unordered_map<uint64_t, uint32_t> memo_aside_;
  size_t memo_len_ = 0;  // how many indices are stored, as Python counts them
  // How deep each container nests (1: only scalars inside), known as items
  // arrive while no container changes after being put in another.
  PageArray<uint16_t> heights_;
  bool changed_after_use_ = false;
  std::vector<std::pair<uint32_t, std::vector<uint32_t>>> side_;
  // Shapes by their keys' references (as bytes), and the last one found.
  struct BytesHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, uint32_t, BytesHash, std::equal_to<>> shape_ids_;
  std::vector<uint32_t> keys_;
  uint32_t last_shape_ = UINT32_MAX;
  std::optional<uint32_t> shape_of(const uint32_t* items, size_t n);
  void unshape(Container& c, uint32_t index);
  // Lists and tuples whose items are those of one made before (the frames
  // of a snapshot's entries: a few call paths, millions of lists) share its
  // words. The words are only ever appended to, so a range stays as it was
  // written; a list that gets more items later gathers them aside, as any
  // container whose range is not last. A cache of the last range seen for
  // each hash, of a fixed size: it costs the same whether lists repeat or not.
  struct ItemRange {
    uint64_t hash = 0;
    uint32_t first = 0;
    uint32_t count = 0;
  };
  static constexpr size_t kSharedRanges = size_t{1} << 16;  // at most; fewer for a small pickle
  static constexpr size_t kMinSharedItems = 4;  // fewer are not worth the hashing
  std::vector<ItemRange> ranges_;
};

void Reader::memo_put(uint64_t index) {
  need_items(1);
  uint32_t ref = stack_.back();
  if (index < memo_.size()) {
    memo_[index] = ref;  // stored again: the new value replaces the old
  } else if (index == memo_.size() && index < UINT32_MAX) {
    memo_.push_back(ref);
    if (memo_aside_.empty() || memo_aside_.erase(index) == 0) ++memo_len_;
    // Indices put aside before may follow on now.
    while (!memo_aside_.empty()) {
      auto next = memo_aside_.find(memo_.size());
      if (next == memo_aside_.end()) break;
      memo_.push_back(next->second);
      memo_aside_.erase(next);
    }
  } else if (memo_aside_.insert_or_assign(index, ref).second) {
    ++memo_len_;
  }
}

uint32_t Reader::memo_get(uint64_t index) const {
  if (index < memo_.size()) return memo_[index];
  auto it = memo_aside_.find(index);
  if (it == memo_aside_.end()) {
    fail_at("memo index " + std::to_string(index) + " was never stored (a malformed pickle)");
  }
  return it->second;
}

void Reader::add_items(uint32_t target, const uint32_t* items, size_t n) {
  Container& c = doc_.containers[container_index(target)];
  bool dict = c.kind == static_cast<uint32_t>(Kind::Dict);
  if (c.has_parent) changed_after_use_ = true;
  uint32_t height = heights_[container_index(target)];
  for (size_t k = 0; k < n; ++k) {
    uint32_t item = items[k];
    if (!is_container(item)) continue;
    if (item == target)
      fail_at("a container would contain itself; a pickle that refers to itself is refused");
    Container& inner = doc_.containers[container_index(item)];
    if (dict && k % 2 == 0 && inner.kind != static_cast<uint32_t>(Kind::Tuple)) {
      fail_at("a dict key is a " + std::string(to_string(doc_.type_of(item))) + ", which Python cannot hash");
    }
    inner.has_parent = 1;
    height = std::max<uint32_t>(height, heights_[container_index(item)] + 1u);
  }
  if (height > max_depth_) {
    fail_at("values nest deeper than " + std::to_string(max_depth_) + " containers");
  }
  heights_[container_index(target)] = static_cast<uint16_t>(height);
  if (n == 0) return;
  if (c.shaped) unshape(c, container_index(target));
  size_t added = dict ? n / 2 : n;
  if (added > kMaxCount - c.count)
    fail_at("a container has more than " + std::to_string(kMaxCount) + " items");
  size_t width = dict ? 2 : 1;
  PageArray<uint32_t>& words = doc_.words;
  std::optional<uint32_t> shape;
  if (dict && c.count == 0 && !c.in_side && (shape = shape_of(items, n))) {
    c.first = static_cast<uint32_t>(words.size());
    for (size_t k = 1; k < n; k += 2) words.push_back(items[k]);
    if (words.size() > UINT32_MAX) fail_at("too many items");
    c.count = *shape;
    c.shaped = 1;
    return;
  }
  if (c.in_side) {
    std::vector<uint32_t>& side = side_[c.first].second;
    side.insert(side.end(), items, items + n);
  } else if (c.count == 0) {
    c.first = dict ? append_items(items, n) : shared_items(items, n);
  } else if (c.first + c.count * width == words.size()) {
    words.append(items, n);
  } else {
    // Items made since its last batch lie between: gather its items aside.
    std::vector<uint32_t> side(words.data() + c.first, words.data() + c.first + c.count * width);
    side.insert(side.end(), items, items + n);
    side_.emplace_back(container_index(target), std::move(side));
    c.first = static_cast<uint32_t>(side_.size() - 1);
    c.in_side = 1;
  }
  if (words.size() > UINT32_MAX) fail_at("too many items");
  c.count += static_cast<uint32_t>(added);
}

uint32_t Reader::shared_items(const uint32_t* items, size_t n) {
  if (n < kMinSharedItems) return append_items(items, n);
  if (ranges_.empty()) ranges_.resize(std::bit_ceil(std::clamp<size_t>(size_ / 256, 64, kSharedRanges)));
  uint64_t hash = std::hash<std::string_view>{}(
      std::string_view(reinterpret_cast<const char*>(items), n * sizeof(uint32_t)));
  ItemRange& range = ranges_[hash & (ranges_.size() - 1)];
  if (range.hash == hash && range.count == n &&
      std::memcmp(doc_.words.data() + range.first, items, n * sizeof(uint32_t)) == 0) {
    return range.first;
  }
  uint32_t first = append_items(items, n);
  if (doc_.words.size() <= UINT32_MAX) range = ItemRange{hash, first, static_cast<uint32_t>(n)};
  return first;
}

// The shape of a dict's first batch of entries, when its keys are scalars
// and not too many; made on first sight.
std::optional<uint32_t> Reader::shape_of(const uint32_t* items, size_t n) {
  size_t keys = n / 2;
  if (keys > kMaxShapeKeys) return std::nullopt;
  if (last_shape_ != UINT32_MAX && doc_.shapes[last_shape_].count == keys) {
    const uint32_t* known = doc_.shape_keys.data() + doc_.shapes[last_shape_].first;
    size_t k = 0;
    while (k < keys && known[k] == items[2 * k]) ++k;
    if (k == keys) return last_shape_;
  }
  keys_.clear();
  for (size_t k = 0; k < n; k += 2) {
    if (is_container(items[k])) return std::nullopt;
    keys_.push_back(items[k]);
  }
  std::string_view bytes(reinterpret_cast<const char*>(keys_.data()), keys_.size() * sizeof(uint32_t));
  auto it = shape_ids_.find(bytes);
  if (it != shape_ids_.end()) return last_shape_ = it->second;
  if (doc_.shapes.size() >= kMaxShapes) return std::nullopt;
  doc_.shapes.push_back({static_cast<uint32_t>(doc_.shape_keys.size()), static_cast<uint32_t>(keys)});
  doc_.shape_keys.insert(doc_.shape_keys.end(), keys_.begin(), keys_.end());
  last_shape_ = static_cast<uint32_t>(doc_.shapes.size() - 1);
  shape_ids_.emplace(std::string(bytes), last_shape_);
  return last_shape_;
}

// A shaped dict that gets more entries: its keys and values, aside.
void Reader::unshape(Container& c, uint32_t index) {
  const Shape& shape = doc_.shapes[c.count];
  std::vector<uint32_t> side;
  for (size_t k = 0; k < shape.count; ++k) {
    side.push_back(doc_.shape_keys[shape.first + k]);
    side.push_back(doc_.words[c.first + k]);
  }
  c.count = shape.count;
  c.shaped = 0;
  side_.emplace_back(index, std::move(side));
  c.first = static_cast<uint32_t>(side_.size() - 1);
  c.in_side = 1;
}

void Reader::run() {
  if (size_ >= kMaxBytes) fail("pickles of 2 GiB or more are not supported");
  for (;;) {
    if (pos_ >= size_)
      fail("truncated: the pickle ends at byte " + std::to_string(size_) + " before its STOP opcode");
    op_at_ = pos_;
    op_ = data_[pos_++];
    switch (op_) {
      case PROTO:
        need(1);
        if (data_[pos_] > 5)
          fail_at("protocol " + std::to_string(data_[pos_]) + " is newer than 5, the latest known");
        pos_ += 1;
        break;
      case FRAME:
        need(8);
        pos_ += 8;
        length(le64(data_ + pos_ - 8));
        break;
      case STOP:
        need_items(1);
        doc_.root = stack_.back();
        finish();
        return;

      case NONE:
      case NEWTRUE:
      case NEWFALSE:
        push_scalar();
        break;
      case BININT1:
        need(1), pos_ += 1, push_scalar();
        break;
      case BININT2:
        need(2), pos_ += 2, push_scalar();
        break;
      case BININT:
        need(4), pos_ += 4, push_scalar();
        break;
      case BINFLOAT:
        need(8), pos_ += 8, push_scalar();
        break;
      case LONG1:
        counted(1), push_scalar();
        break;
      case LONG4:
        counted(4, true), push_scalar();
        break;
      case INT:
      case LONG: {
        std::string_view text = line();
        if (!integer_from_text(text) && !(op_ == INT && (text == "00" || text == "01"))) {
          fail_at("'" + std::string(text.substr(0, 40)) + "' is not an integer");
        }
        push_scalar();
        break;
      }
      case FLOAT: {
        std::string_view text = line();
        if (!float_from_text(text)) fail_at("'" + std::string(text.substr(0, 40)) + "' is not a number");
        push_scalar();
        break;
      }
      case SHORT_BINUNICODE:
      case SHORT_BINSTRING:
      case SHORT_BINBYTES:
        counted(1), push_scalar();
        break;
      case BINUNICODE:
      case BINBYTES:
        counted(4), push_scalar();
        break;
      case BINSTRING:
        counted(4, true), push_scalar();
        break;
      case BINUNICODE8:
      case BINBYTES8:
      case BYTEARRAY8:
        counted(8), push_scalar();
        break;
      case UNICODE: {
        std::string_view text = line();
        for (char c : text) {
          if (c == '\\' || static_cast<unsigned char>(c) >= 0x80) {
            fail_at("a protocol-0 string with escapes or non-ASCII characters is not supported");
          }
        }
        push_scalar();
        break;
      }

      case EMPTY_LIST:
      case EMPTY_SET:
        stack_.push_back(new_container(Kind::List));
        break;
      case EMPTY_DICT:
        stack_.push_back(new_container(Kind::Dict));
        break;
      case EMPTY_TUPLE:
        stack_.push_back(new_container(Kind::Tuple));
        break;
      case TUPLE1:
      case TUPLE2:
      case TUPLE3: {
        size_t n = op_ - TUPLE1 + 1;
        need_items(n);
        uint32_t tuple = new_container(Kind::Tuple);
        add_items(tuple, stack_.data() + stack_.size() - n, n);
        stack_.resize(stack_.size() - n);
        stack_.push_back(tuple);
        break;
      }
      case TUPLE:
      case LIST:
      case DICT:
      case FROZENSET: {
        size_t mark = pop_mark();
        size_t n = stack_.size() - mark;
        if (op_ == DICT && n % 2 != 0) fail_at("a key without a value");
        uint32_t made = new_container(op_ == TUPLE ? Kind::Tuple : op_ == DICT ? Kind::Dict : Kind::List);
        add_items(made, stack_.data() + mark, n);
        stack_.resize(mark);
        stack_.push_back(made);
        break;
      }
      case MARK:
        marks_.push_back(stack_.size());
        break;
      case APPEND:
      case SETITEM:
      case APPENDS:
      case SETITEMS:
      case ADDITEMS: {
        bool batch = op_ == APPENDS || op_ == SETITEMS || op_ == ADDITEMS;
        bool to_dict = op_ == SETITEM || op_ == SETITEMS;
        size_t first = 0;
        if (batch) {
          first = pop_mark();
          if (first <= fence() || first == 0) fail_at("nothing to add the items to (a malformed pickle)");
        } else {
          need_items(to_dict ? 3 : 2);
          first = stack_.size() - (to_dict ? 2 : 1);
        }
        uint32_t target = stack_[first - 1];
        Type type = doc_.type_of(target);
        if (to_dict ? type != Type::Dict : type != Type::List) {
          fail_at(std::string("adds items to a ") + std::string(to_string(type)) + ", not a " +
                  (to_dict ? "dict" : "list"));
        }
        size_t n = stack_.size() - first;
        if (to_dict && n % 2 != 0) fail_at("a key without a value");
        add_items(target, stack_.data() + first, n);
        stack_.resize(first);
        break;
      }
      case POP:
        if (!marks_.empty() && marks_.back() == stack_.size()) {
          marks_.pop_back();
        } else {
          need_items(1);
          stack_.pop_back();
        }
        break;
      case POP_MARK:
        stack_.resize(pop_mark());
        break;
      case DUP:
        need_items(1), stack_.push_back(stack_.back());
        break;

      case MEMOIZE:
        memo_put(memo_len_);
        break;
      case BINPUT:
        need(1), pos_ += 1, memo_put(data_[pos_ - 1]);
        break;
      case LONG_BINPUT:
        need(4), pos_ += 4, memo_put(le32(data_ + pos_ - 4));
        break;
      case BINGET:
        need(1), pos_ += 1, stack_.push_back(memo_get(data_[pos_ - 1]));
        break;
      case LONG_BINGET:
        need(4), pos_ += 4, stack_.push_back(memo_get(le32(data_ + pos_ - 4)));
        break;
      case PUT:
      case GET: {
        std::string_view text = line();
        uint64_t index = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), index);
        if (ec != std::errc{} || end != text.data() + text.size()) {
          fail_at("'" + std::string(text.substr(0, 40)) + "' is not a memo index");
        }
        if (op_ == PUT) {
          memo_put(index);
        } else {
          stack_.push_back(memo_get(index));
        }
        break;
      }

      case GLOBAL:
      case STACK_GLOBAL:
      case REDUCE:
      case BUILD:
      case INST:
      case OBJ:
      case NEWOBJ:
      case NEWOBJ_EX:
      case PERSID:
      case BINPERSID:
      case EXT1:
      case EXT2:
      case EXT4:
      case NEXT_BUFFER:
      case READONLY_BUFFER:
        fail("pickle refused: opcode " + std::string(opcode_name(op_)) + " at byte " +
             std::to_string(op_at_) + " could run code; only plain data is read");
      case STRING:
        fail_at("protocol-0 quoted strings are not supported");
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op_);
        fail("unknown opcode " + std::string(hex) + " at byte " + std::to_string(op_at_) +
             ": not a pickle, or a corrupt one");
      }
    }
  }
}

// Moves the items gathered aside into the flat array, and checks, when some
// container changed after being put in another, that no value contains
// itself and none nests too deep.
void Reader::finish() {
  for (auto& [index, items] : side_) {
    Container& c = doc_.containers[index];
    if (doc_.words.size() + items.size() > UINT32_MAX) fail("too many items");
    c.first = static_cast<uint32_t>(doc_.words.size());
    c.in_side = 0;
    doc_.words.append(items.data(), items.size());
    std::vector<uint32_t>().swap(items);
  }
  if (changed_after_use_) check_depth_and_cycles();
}

// A walk with its own stack, no deeper than the depth allowed: each container
// once, its height remembered.
void Reader::check_depth_and_cycles() const {
  if (!is_container(doc_.root)) return;
  constexpr uint32_t kOnPath = UINT32_MAX;
  std::vector<uint32_t> heights(doc_.containers.size(), 0);
  struct Step {
    uint32_t index;
    uint32_t next = 0;
    uint32_t height = 1;
  };
  std::vector<Step> path;
  path.push_back({container_index(doc_.root)});
  heights[path.back().index] = kOnPath;
  while (!path.empty()) {
    Step& step = path.back();
    const Container& c = doc_.containers[step.index];
    size_t items = doc_.word_count(c);
    if (step.next == items) {
      heights[step.index] = step.height;
      uint32_t height = step.height;
      path.pop_back();
      if (!path.empty()) path.back().height = std::max(path.back().height, height + 1);
      continue;
    }
    uint32_t item = doc_.words[c.first + step.next++];
    if (!is_container(item)) continue;
    uint32_t h = heights[container_index(item)];
    if (h == kOnPath)
      fail("a value contains itself (through the memo); a pickle that refers to itself is refused");
    if (h == 0) {
      if (path.size() >= max_depth_) {
        fail("values nest deeper than " + std::to_string(max_depth_) + " containers");
      }
      heights[container_index(item)] = kOnPath;
      path.push_back({container_index(item)});
    } else {
      step.height = std::max(step.height, h + 1);
    }
    if (path.size() + (h == 0 ? 0 : h) > max_depth_ + 1) {
      fail("values nest deeper than " + std::to_string(max_depth_) + " containers");
    }
  }
  if (heights[container_index(doc_.root)] > max_depth_) {
    fail("values nest deeper than " + std::to_string(max_depth_) + " containers");
  }
}

std::string_view to_string(Type type) {
  switch (type) {
    case Type::None:
      return "None";
    case Type::Bool:
      return "bool";
    case Type::Int:
      return "int";
    case Type::BigInt:
      return "int (beyond 64 bits)";
    case Type::Float:
      return "float";
    case Type::String:
      return "str";
    case Type::Bytes:
      return "bytes";
    case Type::List:
      return "list";
    case Type::Tuple:
      return "tuple";
    case Type::Dict:
      return "dict";
  }
  return "?";
}

Type Value::type() const { return document_->impl_->type_of(node_); }

bool Value::is_none() const { return !is_container(node_) && document_->impl_->data[node_ >> 1] == NONE; }

bool Value::as_bool() const {
  const Document::Impl& d = *document_->impl_;
  Type t = d.type_of(node_);
  if (t == Type::Bool || t == Type::Int) {
    Integer i = d.integer(node_);
    if (i.signed_value == 0 || i.signed_value == 1) return i.signed_value == 1;
  }
  d.wrong_type(node_, "a bool");
}

int64_t Value::as_int() const {
  const Document::Impl& d = *document_->impl_;
  Integer i = d.integer(node_);
  if (!i.fits_signed) d.fail("an integer does not fit 64 bits signed");
  return i.signed_value;
}

uint64_t Value::as_uint() const {
  const Document::Impl& d = *document_->impl_;
  Integer i = d.integer(node_);
  if (!i.fits_unsigned) {
    d.fail(i.fits_signed
               ? "expected a size or address, found the negative integer " + std::to_string(i.signed_value)
               : "an integer does not fit 64 bits unsigned");
  }
  return i.unsigned_value;
}

double Value::as_double() const {
  const Document::Impl& d = *document_->impl_;
  if (!is_container(node_)) {
    size_t at = node_ >> 1;
    if (d.data[at] == BINFLOAT) {
      uint64_t bits = 0;
      for (int k = 1; k <= 8; ++k) bits = bits << 8 | d.data[at + k];  // big-endian
      return std::bit_cast<double>(bits);
    }
    if (d.data[at] == FLOAT) return *float_from_text(line_at(d.data, d.size, at + 1));
  }
  Integer i = d.integer(node_);
  return i.fits_signed     ? static_cast<double>(i.signed_value)
         : i.fits_unsigned ? static_cast<double>(i.unsigned_value)
                           : i.approximate;
}

std::string_view Value::as_string() const { return document_->impl_->text(node_); }

size_t Value::size() const {
  const Document::Impl& d = *document_->impl_;
  return d.size_of(d.container(node_, "a list, tuple or dict"));
}

Value Value::at(size_t index) const {
  const Document::Impl& d = *document_->impl_;
  const Container& c = d.container(node_, "a list or tuple");
  if (c.kind == static_cast<uint32_t>(Kind::Dict)) d.wrong_type(node_, "a list or tuple");
  if (index >= c.count) {
    d.fail("item " + std::to_string(index) + " asked of a " + std::string(to_string(type())) + " of " +
           std::to_string(c.count));
  }
  return Value(document_, d.words[c.first + index]);
}

Value Value::key_at(size_t index) const {
  const Document::Impl& d = *document_->impl_;
  return Value(document_, d.key(d.dict_entry(node_, index), index));
}

uint32_t Value::shape() const {
  const Document::Impl& d = *document_->impl_;
  if (!is_container(node_)) return kNoShape;
  const Container& c = d.containers[container_index(node_)];
  return c.kind == static_cast<uint32_t>(Kind::Dict) && c.shaped ? static_cast<uint32_t>(c.count) : kNoShape;
}

uint64_t Value::items_id() const {
  const Document::Impl& d = *document_->impl_;
  if (!is_container(node_)) return kNoItems;
  const Container& c = d.containers[container_index(node_)];
  if (c.kind == static_cast<uint32_t>(Kind::Dict)) return kNoItems;
  // Words are only appended to: a range holds what was first written there.
  return uint64_t{c.first} << 32 | c.count;
}

Value Value::value_at(size_t index) const {
  const Document::Impl& d = *document_->impl_;
  return Value(document_, d.value(d.dict_entry(node_, index), index));
}

std::optional<Value> Value::find(std::string_view key) const {
  const Document::Impl& d = *document_->impl_;
  if (!is_container(node_)) return std::nullopt;
  const Container& c = d.containers[container_index(node_)];
  if (c.kind != static_cast<uint32_t>(Kind::Dict)) return std::nullopt;
  // From the last entry: of a key given twice, Python keeps the last value.
  for (size_t k = d.size_of(c); k-- > 0;) {
    uint32_t ref = d.key(c, k);
    if (is_container(ref)) continue;
    uint8_t op = d.data[ref >> 1];
    if (op != SHORT_BINUNICODE && op != BINUNICODE && op != BINUNICODE8 && op != UNICODE &&
        op != SHORT_BINSTRING && op != BINSTRING) {
      continue;
    }
    if (d.text(ref) == key) return Value(document_, d.value(c, k));
  }
  return std::nullopt;
}

Document::Document(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Document::Document(Document&&) noexcept = default;
Document& Document::operator=(Document&&) noexcept = default;
Document::~Document() = default;

Value Document::root() const { return Value(this, impl_->root); }
size_t Document::byte_count() const { return impl_->size; }
size_t Document::value_count() const { return impl_->value_count; }

Document Document::read(std::vector<uint8_t> bytes, const std::string& source, ReadLimits limits) {
  auto impl = std::make_unique<Impl>();
  impl->bytes = std::move(bytes);
  impl->data = impl->bytes.data();
  impl->size = impl->bytes.size();
  impl->source = source;
  Reader(*impl, limits).run();
  return Document(std::move(impl));
}

Document Document::read_file(const std::string& path, ReadLimits limits) {
  auto impl = std::make_unique<Impl>();
  impl->source = path;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || fstat(fd, &st) != 0) {
    int error = errno;
    if (fd >= 0) close(fd);
    throw PickleError("cannot read " + path + ": " + std::strerror(error));
  }
  // Mapped: strings are read in place, and a gigabyte is neither copied
  // nor zeroed. A file that cannot be mapped (a pipe) is read.
  size_t size = static_cast<size_t>(st.st_size);
  if (S_ISREG(st.st_mode) && size != 0) {
    void* mapped = mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    if (mapped != MAP_FAILED) {
      close(fd);
      impl->mapping =
          std::unique_ptr<const uint8_t[], Unmap>(static_cast<const uint8_t*>(mapped), Unmap{size});
      impl->data = impl->mapping.get();
      impl->size = size;
      Reader(*impl, limits).run();
      return Document(std::move(impl));
    }
  }
  // Read to its end, whatever its size says (a pipe says 0).
  std::vector<uint8_t>& bytes = impl->bytes;
  bytes.resize(std::max<size_t>(size, 64 << 10));
  size_t got = 0;
  for (;;) {
    if (got == bytes.size()) bytes.resize(bytes.size() * 2);
    ssize_t n = ::read(fd, bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int error = errno;
      close(fd);
      throw PickleError("cannot read " + path + ": " + std::strerror(error));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  close(fd);
  bytes.resize(got);
  impl->data = bytes.data();
  impl->size = got;
  Reader(*impl, limits).run();
  return Document(std::move(impl));
}

bool looks_like_pickle(std::span<const uint8_t> first_bytes) {
  return first_bytes.size() >= 2 && first_bytes[0] == PROTO && first_bytes[1] >= 2 && first_bytes[1] <= 5;
}

}  // namespace vramscope::pickle
