// The data-only pickle reader: every opcode it reads gives exact values, every
// opcode that could run code is refused by name, and hostile pickles
// (truncated, lying about lengths, nested too deep, referring to themselves)
// are errors, never crashes. Pickles below were made by the python3 line
// above each; the real snapshots are in tests/data/interop.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "formats/pickle.h"
#include "formats/pickle_writer.h"

using namespace vramscope::pickle;
using namespace std::string_view_literals;

namespace {

// python3 -c "import pickle; print(pickle.dumps([None, True, False, 0, 255, 256, 65535, 65536, -1, 2**31 - 1,
// -2**31, 2**63 - 1, -2**63, 2**63, 2**64 - 1, 2**64, -2**70, 1.5, -0.25, 'h\u00e9llo', '', b'by', 'x' * 300,
// b'y' * 300], protocol=4))"
constexpr std::string_view kScalars4 =
    "\200\004\225\355\002\000\000\000\000\000\000]\224(N\210\211K\000K\377M\000\001M\377\377J"
    "\000\000\001\000J\377\377\377\377J\377\377\377\177J\000\000\000\200\212\010\377\377\377\377"
    "\377\377\377\177\212\010\000\000\000\000\000\000\000\200\212\011\000\000\000\000\000\000"
    "\000\200\000\212\011\377\377\377\377\377\377\377\377\000\212\011\000\000\000\000\000\000"
    "\000\000\001\212\011\000\000\000\000\000\000\000\000\300G\077\370\000\000\000\000\000\000"
    "G\277\320\000\000\000\000\000\000\214\006h\303\251llo\224\214\000\224C\002by\224X,\001\000"
    "\000xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\224B,\001\000\000yyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"
    "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"
    "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"
    "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"
    "yyyyyy\224e."sv;
// python3 -c "import pickle; print(pickle.dumps(((), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4), {}, {'a': 1, 2:
// 'b', (3, 4): [5]}, [], {1, 2}, frozenset({7})), protocol=4))"
constexpr std::string_view kContainers4 =
    "\200\004\225N\000\000\000\000\000\000\000()K\001\205\224K\001K\002\206\224K\001K\002K\003"
    "\207\224(K\001K\002K\003K\004t\224}\224}\224(\214\001a\224K\001K\002\214\001b\224K\003K\004"
    "\206\224]\224K\005au]\224\217\224(K\001K\002\220(K\007\221\224t\224."sv;
// python3 -c "import pickle; print((lambda x: pickle.dumps({'first': x, 'second': x, 'k': 'shared', 'l':
// 'shared'}, protocol=4))([1, 'shared']))"
constexpr std::string_view kShared4 =
    "\200\004\2253\000\000\000\000\000\000\000}\224(\214\005first\224]\224(K\001\214\006share"
    "d\224e\214\006second\224h\002\214\001k\224h\003\214\001l\224h\003u."sv;
// python3 -c "import pickle; print(pickle.dumps([1, True, 2**70, 1.5, 'abc', None, (1, 2), {'k': [3]}, -7],
// protocol=0))"
constexpr std::string_view kProtocol0 =
    "(lp0\012I1\012aI01\012aL1180591620717411303424L\012aF1.5\012aVabc\012p1\012aNa(I1\012I2\012"
    "tp2\012a(dp3\012Vk\012p4\012(lp5\012I3\012asaI-7\012a."sv;
// python3 -c "import pickle; print((lambda x, s: pickle.dumps([x, x, (1,), (1, 2), (1, 2, 3), True, 2**64,
// 'str'] + s + [s[299]], protocol=2))([0], [str(i) for i in range(300)]))"
constexpr std::string_view kProtocol2 =
    "\200\002]q\000(]q\001K\000ah\001K\001\205q\002K\001K\002\206q\003K\001K\002K\003\207q\004"
    "\210\212\011\000\000\000\000\000\000\000\000\001X\003\000\000\000strq\005X\001\000\000\000"
    "0q\006X\001\000\000\0001q\007X\001\000\000\0002q\010X\001\000\000\0003q\011X\001\000\000"
    "\0004q\012X\001\000\000\0005q\013X\001\000\000\0006q\014X\001\000\000\0007q\015X\001\000"
    "\000\0008q\016X\001\000\000\0009q\017X\002\000\000\00010q\020X\002\000\000\00011q\021X\002"
    "\000\000\00012q\022X\002\000\000\00013q\023X\002\000\000\00014q\024X\002\000\000\00015q\025"
    "X\002\000\000\00016q\026X\002\000\000\00017q\027X\002\000\000\00018q\030X\002\000\000\000"
    "19q\031X\002\000\000\00020q\032X\002\000\000\00021q\033X\002\000\000\00022q\034X\002\000"
    "\000\00023q\035X\002\000\000\00024q\036X\002\000\000\00025q\037X\002\000\000\00026q X\002"
    "\000\000\00027q!X\002\000\000\00028q\042X\002\000\000\00029q#X\002\000\000\00030q$X\002\000"
    "\000\00031q%X\002\000\000\00032q&X\002\000\000\00033q'X\002\000\000\00034q(X\002\000\000"
    "\00035q)X\002\000\000\00036q*X\002\000\000\00037q+X\002\000\000\00038q,X\002\000\000\000"
    "39q-X\002\000\000\00040q.X\002\000\000\00041q/X\002\000\000\00042q0X\002\000\000\00043q1"
    "X\002\000\000\00044q2X\002\000\000\00045q3X\002\000\000\00046q4X\002\000\000\00047q5X\002"
    "\000\000\00048q6X\002\000\000\00049q7X\002\000\000\00050q8X\002\000\000\00051q9X\002\000"
    "\000\00052q:X\002\000\000\00053q;X\002\000\000\00054q<X\002\000\000\00055q=X\002\000\000"
    "\00056q>X\002\000\000\00057q\077X\002\000\000\00058q@X\002\000\000\00059qAX\002\000\000\000"
    "60qBX\002\000\000\00061qCX\002\000\000\00062qDX\002\000\000\00063qEX\002\000\000\00064qF"
    "X\002\000\000\00065qGX\002\000\000\00066qHX\002\000\000\00067qIX\002\000\000\00068qJX\002"
    "\000\000\00069qKX\002\000\000\00070qLX\002\000\000\00071qMX\002\000\000\00072qNX\002\000"
    "\000\00073qOX\002\000\000\00074qPX\002\000\000\00075qQX\002\000\000\00076qRX\002\000\000"
    "\00077qSX\002\000\000\00078qTX\002\000\000\00079qUX\002\000\000\00080qVX\002\000\000\000"
    "81qWX\002\000\000\00082qXX\002\000\000\00083qYX\002\000\000\00084qZX\002\000\000\00085q["
    "X\002\000\000\00086q\134X\002\000\000\00087q]X\002\000\000\00088q^X\002\000\000\00089q_X"
    "\002\000\000\00090q`X\002\000\000\00091qaX\002\000\000\00092qbX\002\000\000\00093qcX\002"
    "\000\000\00094qdX\002\000\000\00095qeX\002\000\000\00096qfX\002\000\000\00097qgX\002\000"
    "\000\00098qhX\002\000\000\00099qiX\003\000\000\000100qjX\003\000\000\000101qkX\003\000\000"
    "\000102qlX\003\000\000\000103qmX\003\000\000\000104qnX\003\000\000\000105qoX\003\000\000"
    "\000106qpX\003\000\000\000107qqX\003\000\000\000108qrX\003\000\000\000109qsX\003\000\000"
    "\000110qtX\003\000\000\000111quX\003\000\000\000112qvX\003\000\000\000113qwX\003\000\000"
    "\000114qxX\003\000\000\000115qyX\003\000\000\000116qzX\003\000\000\000117q{X\003\000\000"
    "\000118q|X\003\000\000\000119q}X\003\000\000\000120q~X\003\000\000\000121q\177X\003\000\000"
    "\000122q\200X\003\000\000\000123q\201X\003\000\000\000124q\202X\003\000\000\000125q\203X"
    "\003\000\000\000126q\204X\003\000\000\000127q\205X\003\000\000\000128q\206X\003\000\000\000"
    "129q\207X\003\000\000\000130q\210X\003\000\000\000131q\211X\003\000\000\000132q\212X\003"
    "\000\000\000133q\213X\003\000\000\000134q\214X\003\000\000\000135q\215X\003\000\000\0001"
    "36q\216X\003\000\000\000137q\217X\003\000\000\000138q\220X\003\000\000\000139q\221X\003\000"
    "\000\000140q\222X\003\000\000\000141q\223X\003\000\000\000142q\224X\003\000\000\000143q\225"
    "X\003\000\000\000144q\226X\003\000\000\000145q\227X\003\000\000\000146q\230X\003\000\000"
    "\000147q\231X\003\000\000\000148q\232X\003\000\000\000149q\233X\003\000\000\000150q\234X"
    "\003\000\000\000151q\235X\003\000\000\000152q\236X\003\000\000\000153q\237X\003\000\000\000"
    "154q\240X\003\000\000\000155q\241X\003\000\000\000156q\242X\003\000\000\000157q\243X\003"
    "\000\000\000158q\244X\003\000\000\000159q\245X\003\000\000\000160q\246X\003\000\000\0001"
    "61q\247X\003\000\000\000162q\250X\003\000\000\000163q\251X\003\000\000\000164q\252X\003\000"
    "\000\000165q\253X\003\000\000\000166q\254X\003\000\000\000167q\255X\003\000\000\000168q\256"
    "X\003\000\000\000169q\257X\003\000\000\000170q\260X\003\000\000\000171q\261X\003\000\000"
    "\000172q\262X\003\000\000\000173q\263X\003\000\000\000174q\264X\003\000\000\000175q\265X"
    "\003\000\000\000176q\266X\003\000\000\000177q\267X\003\000\000\000178q\270X\003\000\000\000"
    "179q\271X\003\000\000\000180q\272X\003\000\000\000181q\273X\003\000\000\000182q\274X\003"
    "\000\000\000183q\275X\003\000\000\000184q\276X\003\000\000\000185q\277X\003\000\000\0001"
    "86q\300X\003\000\000\000187q\301X\003\000\000\000188q\302X\003\000\000\000189q\303X\003\000"
    "\000\000190q\304X\003\000\000\000191q\305X\003\000\000\000192q\306X\003\000\000\000193q\307"
    "X\003\000\000\000194q\310X\003\000\000\000195q\311X\003\000\000\000196q\312X\003\000\000"
    "\000197q\313X\003\000\000\000198q\314X\003\000\000\000199q\315X\003\000\000\000200q\316X"
    "\003\000\000\000201q\317X\003\000\000\000202q\320X\003\000\000\000203q\321X\003\000\000\000"
    "204q\322X\003\000\000\000205q\323X\003\000\000\000206q\324X\003\000\000\000207q\325X\003"
    "\000\000\000208q\326X\003\000\000\000209q\327X\003\000\000\000210q\330X\003\000\000\0002"
    "11q\331X\003\000\000\000212q\332X\003\000\000\000213q\333X\003\000\000\000214q\334X\003\000"
    "\000\000215q\335X\003\000\000\000216q\336X\003\000\000\000217q\337X\003\000\000\000218q\340"
    "X\003\000\000\000219q\341X\003\000\000\000220q\342X\003\000\000\000221q\343X\003\000\000"
    "\000222q\344X\003\000\000\000223q\345X\003\000\000\000224q\346X\003\000\000\000225q\347X"
    "\003\000\000\000226q\350X\003\000\000\000227q\351X\003\000\000\000228q\352X\003\000\000\000"
    "229q\353X\003\000\000\000230q\354X\003\000\000\000231q\355X\003\000\000\000232q\356X\003"
    "\000\000\000233q\357X\003\000\000\000234q\360X\003\000\000\000235q\361X\003\000\000\0002"
    "36q\362X\003\000\000\000237q\363X\003\000\000\000238q\364X\003\000\000\000239q\365X\003\000"
    "\000\000240q\366X\003\000\000\000241q\367X\003\000\000\000242q\370X\003\000\000\000243q\371"
    "X\003\000\000\000244q\372X\003\000\000\000245q\373X\003\000\000\000246q\374X\003\000\000"
    "\000247q\375X\003\000\000\000248q\376X\003\000\000\000249q\377X\003\000\000\000250r\000\001"
    "\000\000X\003\000\000\000251r\001\001\000\000X\003\000\000\000252r\002\001\000\000X\003\000"
    "\000\000253r\003\001\000\000X\003\000\000\000254r\004\001\000\000X\003\000\000\000255r\005"
    "\001\000\000X\003\000\000\000256r\006\001\000\000X\003\000\000\000257r\007\001\000\000X\003"
    "\000\000\000258r\010\001\000\000X\003\000\000\000259r\011\001\000\000X\003\000\000\00026"
    "0r\012\001\000\000X\003\000\000\000261r\013\001\000\000X\003\000\000\000262r\014\001\000"
    "\000X\003\000\000\000263r\015\001\000\000X\003\000\000\000264r\016\001\000\000X\003\000\000"
    "\000265r\017\001\000\000X\003\000\000\000266r\020\001\000\000X\003\000\000\000267r\021\001"
    "\000\000X\003\000\000\000268r\022\001\000\000X\003\000\000\000269r\023\001\000\000X\003\000"
    "\000\000270r\024\001\000\000X\003\000\000\000271r\025\001\000\000X\003\000\000\000272r\026"
    "\001\000\000X\003\000\000\000273r\027\001\000\000X\003\000\000\000274r\030\001\000\000X\003"
    "\000\000\000275r\031\001\000\000X\003\000\000\000276r\032\001\000\000X\003\000\000\00027"
    "7r\033\001\000\000X\003\000\000\000278r\034\001\000\000X\003\000\000\000279r\035\001\000"
    "\000X\003\000\000\000280r\036\001\000\000X\003\000\000\000281r\037\001\000\000X\003\000\000"
    "\000282r \001\000\000X\003\000\000\000283r!\001\000\000X\003\000\000\000284r\042\001\000"
    "\000X\003\000\000\000285r#\001\000\000X\003\000\000\000286r$\001\000\000X\003\000\000\000"
    "287r%\001\000\000X\003\000\000\000288r&\001\000\000X\003\000\000\000289r'\001\000\000X\003"
    "\000\000\000290r(\001\000\000X\003\000\000\000291r)\001\000\000X\003\000\000\000292r*\001"
    "\000\000X\003\000\000\000293r+\001\000\000X\003\000\000\000294r,\001\000\000X\003\000\000"
    "\000295r-\001\000\000X\003\000\000\000296r.\001\000\000X\003\000\000\000297r/\001\000\000"
    "X\003\000\000\000298r0\001\000\000X\003\000\000\000299r1\001\000\000j1\001\000\000e."sv;
// python3 -c "import pickle; print(pickle.dumps(bytearray(b'ab'), protocol=5))"
constexpr std::string_view kBytearray5 =
    "\200\005\225\015\000\000\000\000\000\000\000\226\002\000\000\000\000\000\000\000ab\224."sv;
// python3 -c "import pickle; print((lambda a: (a.append([a]), pickle.dumps(a, protocol=4))[1])([]))"
constexpr std::string_view kIndirectCycle =
    "\200\004\225\011\000\000\000\000\000\000\000]\224]\224h\000aa."sv;

Document read(std::string_view bytes, ReadLimits limits = {}) {
  return Document::read(std::vector<uint8_t>(bytes.begin(), bytes.end()), "test.pickle", limits);
}

// The message of the PickleError that reading `bytes` throws ("" if none).
std::string error_of(std::string_view bytes, ReadLimits limits = {}) {
  try {
    read(bytes, limits);
  } catch (const PickleError& e) {
    return e.what();
  }
  return "";
}

std::string interop(const char* name) {
  return std::string(VRAMSCOPE_SOURCE_DIR) + "/tests/data/interop/pytorch-snapshots/" + name;
}

// `depth` lists, each the only item of the one outside it: [[[...]]].
std::string nested_lists(size_t depth) {
  return "\200\004" + std::string(depth, ']') + std::string(depth - 1, 'a') + ".";
}

}  // namespace

TEST_CASE("pickle: scalars of protocol 4 read exactly") {
  Document doc = read(kScalars4);
  Value v = doc.root();
  REQUIRE(v.type() == Type::List);
  REQUIRE(v.size() == 24);
  CHECK(v.at(0).is_none());
  CHECK(v.at(1).type() == Type::Bool);
  CHECK(v.at(1).as_bool() == true);
  CHECK(v.at(2).as_bool() == false);
  CHECK(v.at(3).as_int() == 0);
  CHECK(v.at(4).as_int() == 255);
  CHECK(v.at(5).as_int() == 256);
  CHECK(v.at(6).as_int() == 65535);
  CHECK(v.at(7).as_int() == 65536);
  CHECK(v.at(8).as_int() == -1);
  CHECK(v.at(9).as_int() == 2147483647);
  CHECK(v.at(10).as_int() == -2147483648LL);
  CHECK(v.at(11).as_int() == INT64_MAX);
  CHECK(v.at(12).as_int() == INT64_MIN);
  // 2^63 and 2^64 - 1: LONG1 of 9 bytes, a trailing 0 for the sign.
  CHECK(v.at(13).type() == Type::BigInt);
  CHECK(v.at(13).as_uint() == (uint64_t{1} << 63));
  CHECK(v.at(14).as_uint() == UINT64_MAX);
  CHECK_THROWS_AS(v.at(14).as_int(), PickleError);
  CHECK(v.at(15).type() == Type::BigInt);
  CHECK_THROWS_AS(v.at(15).as_uint(), PickleError);
  CHECK(v.at(15).as_double() == 18446744073709551616.0);
  CHECK(v.at(16).as_double() == -1180591620717411303424.0);
  CHECK_THROWS_AS(v.at(8).as_uint(), PickleError);
  CHECK(v.at(17).as_double() == 1.5);
  CHECK(v.at(18).as_double() == -0.25);
  CHECK(v.at(4).as_double() == 255.0);
  CHECK(v.at(19).type() == Type::String);
  CHECK(v.at(19).as_string() == "h\303\251llo");
  CHECK(v.at(20).as_string() == "");
  CHECK(v.at(21).type() == Type::Bytes);
  CHECK(v.at(21).as_string() == "by");
  CHECK(v.at(22).as_string() == std::string(300, 'x'));  // BINUNICODE
  CHECK(v.at(23).as_string() == std::string(300, 'y'));  // BINBYTES
  CHECK_THROWS_AS(v.at(19).as_int(), PickleError);
  CHECK_THROWS_AS(v.at(3).as_string(), PickleError);
  CHECK_THROWS_AS(v.at(24), PickleError);
  CHECK(doc.byte_count() == kScalars4.size());
}

TEST_CASE("pickle: tuples, dicts, lists and sets") {
  Document doc = read(kContainers4);
  Value v = doc.root();
  REQUIRE(v.type() == Type::Tuple);
  REQUIRE(v.size() == 10);
  CHECK(v.at(0).type() == Type::Tuple);
  CHECK(v.at(0).size() == 0);
  for (size_t n = 1; n <= 4; ++n) {  // TUPLE1, TUPLE2, TUPLE3, MARK ... TUPLE
    REQUIRE(v.at(n).size() == n);
    for (size_t k = 0; k < n; ++k) CHECK(v.at(n).at(k).as_int() == static_cast<int64_t>(k + 1));
  }
  CHECK(v.at(5).type() == Type::Dict);
  CHECK(v.at(5).size() == 0);
  Value d = v.at(6);
  REQUIRE(d.size() == 3);
  CHECK(d.key_at(0).as_string() == "a");
  CHECK(d.value_at(0).as_int() == 1);
  CHECK(d.key_at(1).as_int() == 2);
  CHECK(d.value_at(1).as_string() == "b");
  CHECK(d.key_at(2).type() == Type::Tuple);
  CHECK(d.key_at(2).at(1).as_int() == 4);
  CHECK(d.value_at(2).at(0).as_int() == 5);
  CHECK(d.find("a")->as_int() == 1);
  CHECK_FALSE(d.find("b").has_value());
  CHECK_FALSE(v.at(7).find("a").has_value());  // not a dict
  CHECK(v.at(7).type() == Type::List);
  CHECK(v.at(7).size() == 0);
  // A set and a frozenset read as lists.
  CHECK(v.at(8).type() == Type::List);
  CHECK(v.at(8).size() == 2);
  CHECK(v.at(8).at(0).as_int() + v.at(8).at(1).as_int() == 3);
  CHECK(v.at(9).size() == 1);
  CHECK(v.at(9).at(0).as_int() == 7);
  CHECK_THROWS_AS(d.at(0), PickleError);
  CHECK_THROWS_AS(v.at(7).key_at(0), PickleError);
}

TEST_CASE("pickle: the memo shares one value between places") {
  Document doc = read(kShared4);
  Value v = doc.root();
  REQUIRE(v.size() == 4);
  Value first = v.find("first").value();
  Value second = v.find("second").value();
  REQUIRE(first.size() == 2);
  CHECK(second.at(0).as_int() == 1);
  CHECK(second.at(1).as_string() == "shared");
  CHECK(v.find("k")->as_string() == "shared");
  CHECK(v.find("l")->as_string() == "shared");
  // Values made: the dict, the list, 1, 'first', 'shared', 'second', 'k', 'l'.
  CHECK(doc.value_count() == 8);
}

TEST_CASE("pickle: protocol 0 text opcodes (INT, LONG, FLOAT, UNICODE, PUT, GET, LIST, DICT, TUPLE)") {
  Document doc = read(kProtocol0);
  Value v = doc.root();
  REQUIRE(v.size() == 9);
  CHECK(v.at(0).as_int() == 1);
  CHECK(v.at(1).type() == Type::Bool);  // I01
  CHECK(v.at(1).as_bool());
  CHECK(v.at(2).type() == Type::BigInt);
  CHECK(v.at(2).as_double() == 1180591620717411303424.0);
  CHECK(v.at(3).as_double() == 1.5);
  CHECK(v.at(4).as_string() == "abc");
  CHECK(v.at(5).is_none());
  CHECK(v.at(6).type() == Type::Tuple);
  CHECK(v.at(6).at(1).as_int() == 2);
  CHECK(v.at(7).find("k")->at(0).as_int() == 3);
  CHECK(v.at(8).as_int() == -7);
}

TEST_CASE("pickle: protocol 2 (BINPUT, BINGET, LONG_BINPUT, TUPLE1-3, NEWTRUE, LONG1)") {
  Document doc = read(kProtocol2);
  Value v = doc.root();
  REQUIRE(v.size() == 309);
  CHECK(v.at(0).at(0).as_int() == 0);
  CHECK(v.at(1).at(0).as_int() == 0);
  CHECK(v.at(2).at(0).as_int() == 1);
  CHECK(v.at(4).at(2).as_int() == 3);
  CHECK(v.at(5).as_bool());
  CHECK(v.at(6).type() == Type::BigInt);
  CHECK_THROWS_AS(v.at(6).as_uint(), PickleError);
  CHECK(v.at(7).as_string() == "str");
  CHECK(v.at(307).as_string() == "299");  // after LONG_BINPUT 306
  CHECK(v.at(308).as_string() == "299");  // LONG_BINGET 306
}

TEST_CASE("pickle: protocol 5 BYTEARRAY8, and hand-made opcodes pickle.dumps never writes") {
  Document bytearray = read(kBytearray5);
  Value ba = bytearray.root();
  CHECK(ba.type() == Type::Bytes);
  CHECK(ba.as_string() == "ab");
  // SHORT_BINSTRING, BINSTRING, BINUNICODE8, BINBYTES8, LONG4, POP, DUP,
  // POP_MARK, MARK ... LIST, EMPTY_SET ADDITEMS, SETITEM, LONG_BINGET; by hand:
  // pickle.loads of it gives ['abc', 'de', 'f', b'gh', 65536, 3, 3, [5], {5}, {1: 2}, [5]].
  Document doc = read(
      "\200\002(U\003abcT\002\000\000\000de\215\001\000\000\000\000\000\000\000f\216\002\000\000"
      "\000\000\000\000\000gh\213\003\000\000\000\000\000\001K\0020K\0032(K\011K\0121(K\005l\224"
      "\217(K\005\220}K\001K\002sj\000\000\000\000l."sv);
  Value v = doc.root();
  REQUIRE(v.size() == 11);
  CHECK(v.at(0).as_string() == "abc");
  CHECK(v.at(0).type() == Type::String);
  CHECK(v.at(1).as_string() == "de");
  CHECK(v.at(1).type() == Type::String);
  CHECK(v.at(2).as_string() == "f");
  CHECK(v.at(3).type() == Type::Bytes);
  CHECK(v.at(3).as_string() == "gh");
  CHECK(v.at(4).as_int() == 65536);
  CHECK(v.at(5).as_int() == 3);  // 2 popped, 3 kept and duplicated
  CHECK(v.at(6).as_int() == 3);
  CHECK(v.at(7).at(0).as_int() == 5);
  CHECK(v.at(8).type() == Type::List);
  CHECK(v.at(8).at(0).as_int() == 5);
  CHECK(v.at(9).key_at(0).as_int() == 1);
  CHECK(v.at(9).value_at(0).as_int() == 2);
  CHECK(v.at(10).at(0).as_int() == 5);
}

TEST_CASE("pickle: memo indices given out of order, overwritten, or past the end") {
  // BINPUT 5, then MEMOIZE (index 1, as Python counts one entry), GETs, BINPUT
  // 5 again over the first, MEMOIZE (index 2): pickle.loads gives
  // [1, 2, 1, 2, 3, 3, 4, 4].
  Document doc = read("\200\004(K\001q\005K\002\224h\005h\001K\003q\005h\005K\004\224h\002l."sv);
  Value v = doc.root();
  REQUIRE(v.size() == 8);
  const int64_t expected[] = {1, 2, 1, 2, 3, 3, 4, 4};
  for (size_t i = 0; i < 8; ++i) CHECK(v.at(i).as_int() == expected[i]);
  // Far past the end: kept aside, not as a dense array of that size.
  Document far = read("\200\004K\007r\377\377\377\177j\377\377\377\177."sv);
  CHECK(far.root().as_int() == 7);
  CHECK(error_of("\200\004K\007r\377\377\377\177j\376\377\377\177."sv).find("memo index 2147483646") !=
        std::string::npos);
}

TEST_CASE("pickle: every opcode that could run code is refused by name and offset") {
  const std::map<std::string, char> refused = {
      {"GLOBAL", 'c'},
      {"STACK_GLOBAL", '\223'},
      {"REDUCE", 'R'},
      {"BUILD", 'b'},
      {"INST", 'i'},
      {"OBJ", 'o'},
      {"NEWOBJ", '\201'},
      {"NEWOBJ_EX", '\222'},
      {"PERSID", 'P'},
      {"BINPERSID", 'Q'},
      {"EXT1", '\202'},
      {"EXT2", '\203'},
      {"EXT4", '\204'},
      {"NEXT_BUFFER", '\227'},
      {"READONLY_BUFFER", '\230'},
  };
  for (const auto& [name, op] : refused) {
    CAPTURE(name);
    std::string bytes = "\200\004N" + std::string(1, op) + ".";
    CHECK(error_of(bytes) == "test.pickle: pickle refused: opcode " + name +
                                 " at byte 3 could run code; only plain data is read");
  }
  // python3 -c "import pickle, collections; print(pickle.dumps(collections.OrderedDict(), protocol=4))"
  CHECK(
      error_of("\200\004\225\042\000\000\000\000\000\000\000\214\013collections\224\214\013OrderedDict"
               "\224\223\224)R\224."sv) ==
      "test.pickle: pickle refused: opcode STACK_GLOBAL at byte 39 could run code; only plain data is read");
  CHECK(error_of("\200\004\377."sv) ==
        "test.pickle: unknown opcode 0xff at byte 2: not a pickle, or a corrupt one");
  CHECK(error_of("\200\006N."sv).find("protocol 6 is newer than 5") != std::string::npos);
}

TEST_CASE("pickle: lengths past the end are errors before anything that size is made") {
  CHECK(error_of("\200\004X\377\377\377\377ab."sv) ==
        "test.pickle: opcode BINUNICODE at byte 2 announces 4294967295 bytes, past the end of the pickle (3 "
        "left): it is truncated or corrupt");
  CHECK(error_of("\200\004\216\377\377\377\377\377\377\377\377ab."sv)
            .find("announces 18446744073709551615 bytes") != std::string::npos);
  CHECK(
      error_of("\200\004\225\000\000\000\000\001\000\000\000N."sv).find("opcode FRAME at byte 2 announces") !=
      std::string::npos);
  CHECK(error_of("\200\004\213\377\377\377\377N."sv).find("negative length") != std::string::npos);
  CHECK(error_of("\200\004\212\010\001\002."sv).find("LONG1 at byte 2 announces 8 bytes") !=
        std::string::npos);
}

TEST_CASE("pickle: malformed stacks, marks, memo indices and targets are errors") {
  CHECK(error_of("\200\004h\005."sv).find("BINGET at byte 2: memo index 5 was never stored") !=
        std::string::npos);
  CHECK(error_of("\200\004j\000\000\001\000."sv).find("memo index 65536 was never stored") !=
        std::string::npos);
  CHECK(error_of("\200\004\224."sv).find("MEMOIZE at byte 2: the stack has too few items") !=
        std::string::npos);
  CHECK(error_of("\200\004a."sv).find("APPEND at byte 2: the stack has too few items") != std::string::npos);
  CHECK(error_of("\200\004."sv).find("STOP at byte 2: the stack has too few items") != std::string::npos);
  CHECK(error_of("\200\004K\001(."sv).find("STOP at byte 5: the stack has too few items") !=
        std::string::npos);
  CHECK(error_of("\200\004]K\001e."sv).find("APPENDS at byte 5: no MARK before it") != std::string::npos);
  CHECK(error_of("\200\004(K\001e."sv).find("APPENDS at byte 5: nothing to add the items to") !=
        std::string::npos);
  CHECK(error_of("\200\004}K\001a."sv).find("APPEND at byte 5: adds items to a dict, not a list") !=
        std::string::npos);
  CHECK(error_of("\200\004]K\001K\002s."sv).find("SETITEM at byte 7: adds items to a list, not a dict") !=
        std::string::npos);
  CHECK(error_of("\200\004)K\001a."sv).find("adds items to a tuple, not a list") != std::string::npos);
  CHECK(error_of("\200\004}(K\001u."sv).find("SETITEMS at byte 6: a key without a value") !=
        std::string::npos);
  CHECK(error_of("\200\004}]K\001s."sv).find("a dict key is a list, which Python cannot hash") !=
        std::string::npos);
  CHECK(error_of("\200\004IX\012."sv).find("'X' is not an integer") != std::string::npos);
  CHECK(error_of("\200\004F1.5x\012."sv).find("'1.5x' is not a number") != std::string::npos);
  CHECK(error_of("\200\004NNN0000."sv).find("POP at byte 8: the stack has too few items") !=
        std::string::npos);
  CHECK(error_of(""sv) == "test.pickle: truncated: the pickle ends at byte 0 before its STOP opcode");
}

TEST_CASE("pickle: a pickle cut at any byte is an error, never a crash") {
  for (std::string_view whole : {kScalars4, kContainers4, kShared4, kProtocol0, kProtocol2}) {
    for (size_t n = 0; n < whole.size(); ++n) {
      CAPTURE(n);
      std::string message = error_of(whole.substr(0, n));
      CHECK(message.rfind("test.pickle: ", 0) == 0);
    }
    CHECK(error_of(whole) == "");
  }
  CHECK(error_of(kScalars4.substr(0, 20)) ==
        "test.pickle: opcode FRAME at byte 2 announces 749 bytes, past the end of the pickle (9 left): it is "
        "truncated or corrupt");
  CHECK(error_of(kProtocol2.substr(0, 4)) ==
        "test.pickle: truncated: opcode BINPUT at byte 3 needs 1 more bytes, the pickle has 0");
  CHECK(error_of(kProtocol0.substr(0, 6)) ==
        "test.pickle: truncated: opcode INT at byte 5 has no end of line");
}

TEST_CASE("pickle: nesting deeper than the limit is refused, at the limit read") {
  Document deepest = read(nested_lists(1000));
  CHECK(deepest.root().at(0).at(0).type() == Type::List);
  CHECK(error_of(nested_lists(1001)) ==
        "test.pickle: opcode APPEND at byte 2002: values nest deeper than 1000 containers");
  CHECK(error_of(nested_lists(100'000)).find("values nest deeper than 1000 containers") != std::string::npos);
  ReadLimits three{3};
  CHECK(error_of("\200\004]]]K\001aaa."sv, three) == "");
  CHECK(error_of("\200\004]]]]K\001aaaa."sv, three).find("deeper than 3") != std::string::npos);
}

TEST_CASE("pickle: nesting made through the memo, after a list was put in another, is checked too") {
  // L0 = []; then 100,000 times: Li = [], appended to L(i-1), which is then
  // popped and Li fetched back from the memo: each list grows after it is
  // already inside the one before.
  std::string bytes = "\200\004]\224";
  for (uint32_t i = 1; i <= 100'000; ++i) {
    bytes += "]\224a0j";
    bytes.append(reinterpret_cast<const char*>(&i), 4);  // little-endian
  }
  bytes += "0h\000."sv;
  CHECK(error_of(bytes).find("values nest deeper than 1000 containers") != std::string::npos);
  ReadLimits deep{200'000};  // clamped to 60,000
  CHECK(error_of(bytes, deep).find("values nest deeper than 60000 containers") != std::string::npos);
}

TEST_CASE("pickle: a value that contains itself is refused") {
  // python3 -c "import pickle; l = []; l.append(l); print(pickle.dumps(l, protocol=4))"
  CHECK(error_of("\200\004\225\006\000\000\000\000\000\000\000]\224h\000a."sv)
            .find("a container would contain itself") != std::string::npos);
  CHECK(error_of(kIndirectCycle) ==
        "test.pickle: a value contains itself (through the memo); a pickle that refers to itself is refused");
  // Shared, but no cycle: [x, x] where x = [[]].
  CHECK(error_of("\200\004]\224]\224]aah\001a0h\000."sv) == "");
}

TEST_CASE("pickle: dict keys, find and duplicate keys") {
  // {'a': 1, 'a': 2} as Python would never write it: the last value wins.
  Document doc = read("\200\004}(\214\001aK\001\214\001aK\002u."sv);
  Value d = doc.root();
  CHECK(d.size() == 2);
  CHECK(d.find("a")->as_int() == 2);
  CHECK_FALSE(d.find("").has_value());
  // Dicts with the same keys share them; one that gets more entries later
  // keeps its first ones: [{'a': 1, 'b': 2}, {'a': 3, 'b': 4, 'c': 5}], the
  // second given 'c' by a SETITEM after its SETITEMS.
  Document shared = read(
      "\200\004](}(\214\001a\224K\001\214\001b\224K\002u}(h\000K\003h\001K\004u"
      "\214\001cK\005se."sv);
  REQUIRE(shared.root().size() == 2);
  Value second = shared.root().at(1);
  REQUIRE(second.size() == 3);
  CHECK(second.key_at(0).as_string() == "a");
  CHECK(second.value_at(1).as_int() == 4);
  CHECK(second.find("c")->as_int() == 5);
  CHECK(shared.root().at(0).find("b")->as_int() == 2);
  CHECK(shared.root().at(0).size() == 2);
  CHECK_THROWS_AS(shared.root().at(0).key_at(2), PickleError);
  CHECK(looks_like_pickle(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(kScalars4.data()), 2)));
  CHECK_FALSE(looks_like_pickle(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>("\200\001"), 2)));
  CHECK_FALSE(looks_like_pickle(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>("{\"a"), 3)));
}

TEST_CASE("pickle: the real flexgen OOM snapshot (2023 schema)") {
  Document doc = Document::read_file(interop("flexgen_oom_snapshot.pickle"));
  Value segments = doc.root().find("segments").value();
  REQUIRE(segments.size() == 176);
  uint64_t reserved = 0, allocated = 0;
  for (size_t i = 0; i < segments.size(); ++i) {
    reserved += segments.at(i).find("total_size")->as_uint();
    allocated += segments.at(i).find("allocated_size")->as_uint();
  }
  CHECK(reserved == 11'844'714'496);
  CHECK(allocated == 11'840'159'744);
  CHECK(doc.root().find("device_traces")->at(0).size() == 1);
}

TEST_CASE("pickle: the real DeComFL snapshot (current schema)") {
  Document doc = Document::read_file(interop("decomfl_memory.pickle"));
  Value root = doc.root();
  CHECK(root.find("segments")->size() == 61);
  Value trace = root.find("device_traces")->at(0);
  REQUIRE(trace.size() == 23'105);
  std::map<std::string, size_t> actions;
  uint64_t segment_bytes = 0;
  size_t frames = 0;
  for (size_t i = 0; i < trace.size(); ++i) {
    Value entry = trace.at(i);
    std::string action(entry.find("action")->as_string());
    ++actions[action];
    if (action == "segment_alloc") segment_bytes += entry.find("size")->as_uint();
    frames += entry.find("frames")->size();
    CHECK(entry.find("time_us")->as_int() > 1'700'000'000'000'000);
  }
  CHECK(actions ==
        std::map<std::string, size_t>{
            {"alloc", 7946}, {"free_completed", 7549}, {"free_requested", 7549}, {"segment_alloc", 61}});
  CHECK(segment_bytes == 1'897'922'560);
  Value first = trace.at(0).find("frames")->at(0);
  CHECK(first.find("name")->as_string() == "convert");
  CHECK(first.find("line")->as_int() == 1357);
  CHECK(root.find("allocator_settings")->find("max_split_size")->as_int() == -1);
  CHECK(root.find("allocator_settings")->find("garbage_collection_threshold")->as_double() == 0.0);
  CHECK(root.find("external_annotations")->size() == 8);
  CHECK(frames == 251'168);
  CHECK_THROWS_AS(Document::read_file(interop("no-such.pickle")), PickleError);
}

TEST_CASE("pickle: lists that repeat an earlier list's items share them, and say so") {
  // Three lists of the same four memoized strings; the third then gets a fifth.
  constexpr std::string_view kRepeated =
      "\200\002((U\001aq\000U\001bq\001U\001cq\002U\001dq\003l"
      "(h\000h\001h\002h\003l"
      "(h\000h\001h\002h\003lU\001ea"
      "(U\001xU\001yl}t."sv;
  Document doc = read(kRepeated);
  Value first = doc.root().at(0), second = doc.root().at(1), third = doc.root().at(2);
  CHECK(first.items_id() == second.items_id());
  CHECK(third.items_id() != first.items_id());
  REQUIRE(first.size() == 4);
  REQUIRE(third.size() == 5);
  std::string texts;
  for (const Value& list : {first, second, third}) {
    for (size_t i = 0; i < list.size(); ++i) texts += list.at(i).as_string();
    texts += '|';
  }
  CHECK(texts == "abcd|abcd|abcde|");
  CHECK(doc.root().at(3).size() == 2);
  CHECK(doc.root().items_id() != Value::kNoItems);        // a tuple
  CHECK(doc.root().at(4).items_id() == Value::kNoItems);  // a dict
  CHECK(first.at(0).items_id() == Value::kNoItems);       // a string
}

TEST_CASE("pickle: a file that cannot be mapped (a pipe) is read") {
  // A regular file is mapped; a pipe goes the other way, by read().
  std::string path =
      (std::filesystem::temp_directory_path() / ("vramscope_pickle_fifo_" + std::to_string(getpid())))
          .string();
  REQUIRE(mkfifo(path.c_str(), 0600) == 0);
  std::thread writer([&] {
    std::ifstream in(interop("flexgen_oom_snapshot.pickle"), std::ios::binary);
    std::ofstream out(path, std::ios::binary);
    out << in.rdbuf();
  });
  Document doc = Document::read_file(path);
  writer.join();
  std::filesystem::remove(path);
  CHECK(doc.byte_count() == std::filesystem::file_size(interop("flexgen_oom_snapshot.pickle")));
  CHECK(doc.root().find("segments")->size() == 176);
}

namespace {

// A document of every kind of value the writer takes, more than one frame
// and more than one batch long.
std::string written_sample() {
  vramscope::pickle::Writer w;
  w.begin_dict();
  w.key("ints");
  w.begin_list();
  for (int64_t v :
       {int64_t{0}, int64_t{255}, int64_t{256}, int64_t{65535}, int64_t{65536}, int64_t{-1},
        int64_t{INT32_MIN}, int64_t{INT32_MAX} + 1, INT64_MIN, INT64_MAX, int64_t{-129}, int64_t{128}}) {
    w.integer(v);
  }
  w.unsigned_integer(UINT64_MAX);
  w.unsigned_integer(uint64_t{1} << 63);
  w.unsigned_integer(42);
  w.end_list();
  w.key("floats");
  w.begin_tuple();
  w.number(1.5);
  w.number(-0.0);
  w.number(1e300);
  w.end_tuple();
  w.key("flags");
  w.begin_tuple();
  w.boolean(true);
  w.boolean(false);
  w.none();
  w.end_tuple();
  w.key("empty");
  w.begin_dict();
  w.end_dict();
  w.key("long string");
  w.string(std::string(70'000, 'z'));
  w.key("entries");
  w.begin_list();
  for (int i = 0; i < 2500; ++i) {
    w.begin_dict();
    w.key("action");
    w.string(i % 2 == 0 ? "alloc" : "free_completed");
    w.key("addr");
    w.unsigned_integer(0x7f00'0000'0000ull + uint64_t(i) * 512);
    w.key("frames");
    w.begin_list();
    w.begin_dict();
    w.key("name");
    w.string("f" + std::to_string(i % 300));
    w.key("line");
    w.integer(i);
    w.end_dict();
    w.end_list();
    w.end_dict();
  }
  w.end_list();
  w.end_dict();
  return w.finish();
}

}  // namespace

TEST_CASE("pickle writer: what it writes reads back exactly") {
  std::string bytes = written_sample();
  Document doc = read(bytes);
  Value root = doc.root();
  REQUIRE(root.size() == 6);
  Value ints = root.find("ints").value();
  REQUIRE(ints.size() == 15);
  CHECK(ints.at(0).as_int() == 0);
  CHECK(ints.at(1).as_int() == 255);
  CHECK(ints.at(2).as_int() == 256);
  CHECK(ints.at(3).as_int() == 65535);
  CHECK(ints.at(4).as_int() == 65536);
  CHECK(ints.at(5).as_int() == -1);
  CHECK(ints.at(6).as_int() == INT32_MIN);
  CHECK(ints.at(7).as_int() == int64_t{INT32_MAX} + 1);
  CHECK(ints.at(8).as_int() == INT64_MIN);
  CHECK(ints.at(9).as_int() == INT64_MAX);
  CHECK(ints.at(10).as_int() == -129);
  CHECK(ints.at(11).as_int() == 128);
  CHECK(ints.at(12).as_uint() == UINT64_MAX);
  CHECK(ints.at(13).as_uint() == uint64_t{1} << 63);
  CHECK(ints.at(14).as_uint() == 42);
  Value floats = root.find("floats").value();
  CHECK(floats.type() == Type::Tuple);
  CHECK(floats.at(0).as_double() == 1.5);
  CHECK(std::signbit(floats.at(1).as_double()));
  CHECK(floats.at(2).as_double() == 1e300);
  CHECK(root.find("flags")->at(0).as_bool());
  CHECK_FALSE(root.find("flags")->at(1).as_bool());
  CHECK(root.find("flags")->at(2).is_none());
  CHECK(root.find("empty")->size() == 0);
  CHECK(root.find("long string")->as_string() == std::string(70'000, 'z'));
  Value entries = root.find("entries").value();
  REQUIRE(entries.size() == 2500);
  for (size_t i = 0; i < entries.size(); ++i) {
    Value e = entries.at(i);
    REQUIRE(e.size() == 3);
    CHECK(e.find("action")->as_string() == (i % 2 == 0 ? "alloc" : "free_completed"));
    CHECK(e.find("addr")->as_uint() == 0x7f00'0000'0000ull + i * 512);
    CHECK(e.find("frames")->at(0).find("name")->as_string() == "f" + std::to_string(i % 300));
    CHECK(e.find("frames")->at(0).find("line")->as_int() == static_cast<int64_t>(i));
  }
  // Frames of about 64 KiB: the 70,000-byte string makes one alone.
  CHECK(bytes.substr(0, 3) == "\200\004\225"sv);
  CHECK(bytes.size() < 70'000 + 2500 * 40);  // repeated strings are memo references
}

TEST_CASE("pickle writer: repeated strings are one memo entry, nesting mistakes are errors") {
  vramscope::pickle::Writer w;
  w.begin_list();
  w.string("abc");
  w.string("abc");
  w.end_list();
  // PROTO 4, FRAME, EMPTY_LIST MARK, SHORT_BINUNICODE 'abc' MEMOIZE, BINGET 0, APPENDS, STOP.
  CHECK(w.finish() == "\200\004\225\014\000\000\000\000\000\000\000](\214\003abc\224h\000e."sv);
  vramscope::pickle::Writer bad;
  bad.begin_dict();
  bad.key("lonely");
  CHECK_THROWS_AS(bad.end_dict(), std::logic_error);
  CHECK_THROWS_AS(bad.end_list(), std::logic_error);
  vramscope::pickle::Writer open;
  open.begin_tuple();
  CHECK_THROWS_AS(open.finish(), std::logic_error);
}

TEST_CASE("pickle writer: Python's pickle.load reads what it writes") {
  if (std::system("command -v python3 > /dev/null 2>&1") != 0) {
    MESSAGE("python3 not found on PATH: skipped");
    return;
  }
  std::string path =
      std::filesystem::temp_directory_path() / ("vramscope-writer-" + std::to_string(getpid()));
  {
    std::ofstream out(path, std::ios::binary);
    out << written_sample();
  }
  // Both of Python's unpicklers: the C one, and the pure-Python one that also
  // checks no opcode crosses a frame. The checksum: the sum of every address
  // and line, and the number of characters of every string.
  std::string command =
      "python3 -c \"import pickle, sys; data = open(sys.argv[1], 'rb').read(); d = pickle.loads(data); "
      "assert d == pickle._loads(data); e = d['entries']; "
      "print(sum(x['addr'] + x['frames'][0]['line'] for x in e), len(d['long string']), d['ints'], "
      "d['floats'], d['flags'], len(set(x['action'] for x in e)))\" " +
      path + " 2>&1";
  std::string output;
  if (FILE* pipe = popen(command.c_str(), "r")) {
    char buffer[4096];
    while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
    pclose(pipe);
  }
  std::filesystem::remove(path);
  // 2500 addresses from 0x7f0000000000 by 512, and lines 0 to 2499.
  uint64_t sum = 2500 * 0x7f00'0000'0000ull + 512ull * 2499 * 2500 / 2 + 2499ull * 2500 / 2;
  CHECK(output ==
        std::to_string(sum) +
            " 70000 [0, 255, 256, 65535, 65536, -1, -2147483648, 2147483648, -9223372036854775808, "
            "9223372036854775807, -129, 128, 18446744073709551615, 9223372036854775808, 42] (1.5, -0.0, "
            "1e+300) (True, False, None) 2\n");
}
