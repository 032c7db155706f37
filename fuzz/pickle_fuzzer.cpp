// libFuzzer target for the data-only pickle reader: any bytes either read or
// throw PickleError, and every value read can be walked without a crash.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "formats/pickle.h"

using namespace vramscope::pickle;

namespace {

// Every accessor on every value, with a stack of our own and a bound on the
// visits (shared values can make a small pickle a huge tree).
void walk(Value root) {
  std::vector<Value> pending{root};
  for (size_t visits = 0; !pending.empty() && visits < 100'000; ++visits) {
    Value v = pending.back();
    pending.pop_back();
    try {
      switch (v.type()) {
        case Type::None:
          break;
        case Type::Bool:
          (void)v.as_bool();
          break;
        case Type::Int:
        case Type::BigInt:
          (void)v.as_double();
          try {
            (void)v.as_int();
            (void)v.as_uint();
          } catch (const PickleError&) {
          }
          break;
        case Type::Float:
          (void)v.as_double();
          break;
        case Type::String:
        case Type::Bytes:
          (void)v.as_string().size();
          break;
        case Type::List:
        case Type::Tuple:
          for (size_t i = 0; i < v.size(); ++i) pending.push_back(v.at(i));
          break;
        case Type::Dict:
          (void)v.find("frames");
          for (size_t i = 0; i < v.size(); ++i) {
            pending.push_back(v.key_at(i));
            pending.push_back(v.value_at(i));
          }
          break;
      }
      (void)v.as_string();
    } catch (const PickleError&) {
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)looks_like_pickle({data, size});
  try {
    Document doc = Document::read(std::vector<uint8_t>(data, data + size), "fuzz", ReadLimits{200});
    walk(doc.root());
  } catch (const PickleError&) {
  }
  return 0;
}
