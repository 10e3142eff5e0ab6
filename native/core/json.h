// A small JSON reader/writer for the files the core reads itself: the
// safetensors header (and model config.json if the core ever needs it).
// Enough of RFC 8259 for those: objects (key order kept, duplicate keys
// rejected), arrays, strings with every escape (\uXXXX with surrogate pairs ->
// UTF-8), numbers, true/false/null. No external library by design (the addon
// must build with a compiler and CMake only).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace md {
namespace json {

struct Value {
  enum class Type { null, boolean, number, string, array, object };
  Type type = Type::null;
  bool boolean = false;
  double number = 0;
  std::string number_text;  // the literal as written, so integers above 2^53 stay exact
  std::string string;
  std::vector<Value> array;
  std::vector<std::pair<std::string, Value>> object;  // in file order

  bool is_object() const { return type == Type::object; }
  bool is_array() const { return type == Type::array; }
  bool is_string() const { return type == Type::string; }
  bool is_number() const { return type == Type::number; }
  // Member of an object, or null when absent (or not an object).
  const Value* find(const std::string& key) const;
  // The number as a non-negative / signed 64-bit integer; false when it is not
  // a number, has a fraction or exponent, or does not fit.
  bool to_uint64(uint64_t& out) const;
  bool to_int64(int64_t& out) const;

  static Value make_string(std::string s);
  static Value make_number(double v);
  static Value make_integer(int64_t v);
  static Value make_array(std::vector<Value> items);
  static Value make_object(std::vector<std::pair<std::string, Value>> members);
};

// Parses one JSON document (surrounding whitespace allowed). Throws
// std::invalid_argument("... at offset N") on any syntax error, on a duplicate
// key, or on nesting deeper than 100 levels.
Value parse(const std::string& text);
Value parse(const char* data, std::size_t size);

// Compact serialisation (no spaces). Strings are escaped minimally and stay
// UTF-8; numbers use number_text when set, else the shortest round-trip form.
std::string stringify(const Value& value);
// A JSON string literal (with the quotes) for s.
std::string quote(const std::string& s);

}  // namespace json
}  // namespace md
