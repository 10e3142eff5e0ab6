// The core's small JSON reader/writer: values, escapes (incl. surrogate pairs),
// exact integers, error offsets, and stringify -> parse round trips.
#include <string>

#include "check.h"
#include "json.h"

using md::json::Value;

namespace {
std::string error_of(const std::string& text) {
  try {
    md::json::parse(text);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(parses_every_kind_of_value) {
  const Value v = md::json::parse(" {\"a\": [1, -2.5e3, true, false, null], \"b\": {\"c\": \"d\"}, \"e\": {}} ");
  CHECK(v.is_object());
  CHECK_EQ(v.object.size(), std::size_t{3});
  const Value* a = v.find("a");
  CHECK(a && a->is_array() && a->array.size() == 5);
  CHECK_EQ(a->array[1].number, -2500.0);
  CHECK(a->array[2].type == Value::Type::boolean && a->array[2].boolean);
  CHECK(a->array[4].type == Value::Type::null);
  CHECK_EQ(v.find("b")->find("c")->string, std::string("d"));
  CHECK(v.find("zzz") == nullptr);
  CHECK_EQ(v.object[2].first, std::string("e"));  // file order kept
}

TEST(string_escapes_and_surrogate_pairs_become_utf8) {
  const Value v = md::json::parse("\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t \\u00e9\\u4E2D \\ud83d\\ude00 raw中\"");
  CHECK_EQ(v.string, std::string("q\" b\\ s/ \b\f\n\r\t \xC3\xA9\xE4\xB8\xAD \xF0\x9F\x98\x80 raw中"));
}

TEST(integers_stay_exact_beyond_double_precision) {
  const Value v = md::json::parse("[9007199254740993, 18446744073709551615, 1.0, -3, 1e2]");
  uint64_t u = 0;
  int64_t i = 0;
  CHECK(v.array[0].to_uint64(u) && u == 9007199254740993ull);
  CHECK(v.array[1].to_uint64(u) && u == 18446744073709551615ull);
  CHECK(!v.array[2].to_uint64(u));  // has a fraction part
  CHECK(!v.array[3].to_uint64(u));
  CHECK(v.array[3].to_int64(i) && i == -3);
  CHECK(!v.array[4].to_int64(i));  // exponent form is not an integer literal
}

TEST(syntax_errors_name_the_problem_and_offset) {
  CHECK_EQ(error_of("{\"a\" 1}"), std::string("expected ':' after a key at offset 5"));
  CHECK_EQ(error_of("[1, 2"), std::string("expected ',' or ']' in an array at offset 5"));
  CHECK_EQ(error_of("{\"a\":1} x"), std::string("unexpected text after the JSON value at offset 8"));
  CHECK_EQ(error_of("\"abc"), std::string("unterminated string at offset 4"));
  CHECK_EQ(error_of("\"a\nb\""), std::string("control character in a string at offset 2"));
  CHECK_EQ(error_of("\"\\x\""), std::string("invalid escape '\\x' at offset 2"));
  CHECK_EQ(error_of("01"), std::string("unexpected text after the JSON value at offset 1"));
  CHECK_EQ(error_of("1."), std::string("invalid number: digits expected after '.' at offset 2"));
  CHECK_EQ(error_of("\"\\ud800\""), std::string("high surrogate without a low surrogate at offset 7"));
  CHECK_EQ(error_of("{\"a\":1,\"a\":2}"), std::string("duplicate key \"a\" at offset 10"));
  CHECK_EQ(error_of("tru"), std::string("invalid literal at offset 0"));
  CHECK(error_of(std::string(200, '[') + std::string(200, ']')).find("nesting deeper than 100 levels") == 0);
  CHECK(error_of("").find("unexpected end of JSON") == 0);
}

TEST(stringify_round_trips) {
  const std::string text = "{\"k\\\"\":[1,2.5,-3e-07,true,null,\"\\n\\u0001中\"],\"o\":{}}";
  const Value v = md::json::parse(text);
  CHECK_EQ(md::json::stringify(v), text);
  Value built = Value::make_object({{"n", Value::make_number(0.1)}, {"i", Value::make_integer(-42)}});
  const Value back = md::json::parse(md::json::stringify(built));
  CHECK_EQ(back.find("n")->number, 0.1);  // %.17g round-trips doubles
  CHECK_EQ(md::json::stringify(built.object[1].second), std::string("-42"));
  CHECK_EQ(md::json::quote("tab\there"), std::string("\"tab\\there\""));
}

CHECK_MAIN()
