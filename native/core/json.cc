#include "json.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace md {
namespace json {

const Value* Value::find(const std::string& key) const {
  if (type != Type::object) return nullptr;
  for (const auto& member : object)
    if (member.first == key) return &member.second;
  return nullptr;
}

namespace {

bool plain_integer_text(const std::string& t) {
  // JSON integers: optional '-', digits, no fraction or exponent.
  if (t.empty()) return false;
  std::size_t i = t[0] == '-' ? 1 : 0;
  if (i == t.size()) return false;
  for (; i < t.size(); ++i)
    if (t[i] < '0' || t[i] > '9') return false;
  return true;
}

}  // namespace

bool Value::to_uint64(uint64_t& out) const {
  if (type != Type::number || !plain_integer_text(number_text) || number_text[0] == '-') return false;
  errno = 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(number_text.c_str(), &end, 10);
  if (errno == ERANGE || *end != '\0') return false;
  out = v;
  return true;
}

bool Value::to_int64(int64_t& out) const {
  if (type != Type::number || !plain_integer_text(number_text)) return false;
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(number_text.c_str(), &end, 10);
  if (errno == ERANGE || *end != '\0') return false;
  out = v;
  return true;
}

Value Value::make_string(std::string s) {
  Value v;
  v.type = Type::string;
  v.string = std::move(s);
  return v;
}
Value Value::make_number(double x) {
  Value v;
  v.type = Type::number;
  v.number = x;
  return v;
}
Value Value::make_integer(int64_t x) {
  Value v;
  v.type = Type::number;
  v.number = static_cast<double>(x);
  v.number_text = std::to_string(x);
  return v;
}
Value Value::make_array(std::vector<Value> items) {
  Value v;
  v.type = Type::array;
  v.array = std::move(items);
  return v;
}
Value Value::make_object(std::vector<std::pair<std::string, Value>> members) {
  Value v;
  v.type = Type::object;
  v.object = std::move(members);
  return v;
}

namespace {

constexpr int kMaxDepth = 100;

class Parser {
 public:
  Parser(const char* data, std::size_t size) : p_(data), begin_(data), end_(data + size) {}

  Value document() {
    skip_ws();
    Value v = value(0);
    skip_ws();
    if (p_ != end_) fail("unexpected text after the JSON value");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::invalid_argument(what + " at offset " + std::to_string(p_ - begin_));
  }
  void skip_ws() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }
  bool consume(char c) {
    if (p_ != end_ && *p_ == c) {
      ++p_;
      return true;
    }
    return false;
  }
  void expect_literal(const char* word) {
    const std::size_t n = std::strlen(word);
    if (static_cast<std::size_t>(end_ - p_) < n || std::memcmp(p_, word, n) != 0) fail("invalid literal");
    p_ += n;
  }

  Value value(int depth) {
    if (depth > kMaxDepth) fail("nesting deeper than " + std::to_string(kMaxDepth) + " levels");
    if (p_ == end_) fail("unexpected end of JSON");
    Value v;
    switch (*p_) {
      case '{': return object(depth);
      case '[': return array(depth);
      case '"':
        v.type = Value::Type::string;
        v.string = string();
        return v;
      case 't':
        expect_literal("true");
        v.type = Value::Type::boolean;
        v.boolean = true;
        return v;
      case 'f':
        expect_literal("false");
        v.type = Value::Type::boolean;
        return v;
      case 'n':
        expect_literal("null");
        return v;
      default:
        if (*p_ == '-' || (*p_ >= '0' && *p_ <= '9')) return number();
        fail(std::string("unexpected character '") + *p_ + "'");
    }
  }

  Value object(int depth) {
    ++p_;  // '{'
    Value v;
    v.type = Value::Type::object;
    skip_ws();
    if (consume('}')) return v;
    for (;;) {
      skip_ws();
      if (p_ == end_ || *p_ != '"') fail("expected a string key");
      std::string key = string();
      for (const auto& m : v.object)
        if (m.first == key) fail("duplicate key \"" + key + "\"");
      skip_ws();
      if (!consume(':')) fail("expected ':' after a key");
      skip_ws();
      Value member = value(depth + 1);
      v.object.emplace_back(std::move(key), std::move(member));
      skip_ws();
      if (consume('}')) return v;
      if (!consume(',')) fail("expected ',' or '}' in an object");
    }
  }

  Value array(int depth) {
    ++p_;  // '['
    Value v;
    v.type = Value::Type::array;
    skip_ws();
    if (consume(']')) return v;
    for (;;) {
      skip_ws();
      v.array.push_back(value(depth + 1));
      skip_ws();
      if (consume(']')) return v;
      if (!consume(',')) fail("expected ',' or ']' in an array");
    }
  }

  unsigned hex4() {
    if (end_ - p_ < 4) fail("truncated \\u escape");
    unsigned code = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = *p_++;
      code <<= 4;
      if (c >= '0' && c <= '9') code |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f') code |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') code |= static_cast<unsigned>(c - 'A' + 10);
      else fail("invalid hex digit in a \\u escape");
    }
    return code;
  }

  static void append_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::string string() {
    ++p_;  // opening quote
    std::string out;
    for (;;) {
      if (p_ == end_) fail("unterminated string");
      const unsigned char c = static_cast<unsigned char>(*p_++);
      if (c == '"') return out;
      if (c < 0x20) {
        --p_;
        fail("control character in a string");
      }
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      if (p_ == end_) fail("unterminated escape");
      const char e = *p_++;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp = hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') fail("high surrogate without a low surrogate");
            p_ += 2;
            const unsigned low = hex4();
            if (low < 0xDC00 || low > 0xDFFF) fail("invalid low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            fail("lone low surrogate");
          }
          append_utf8(out, cp);
          break;
        }
        default:
          --p_;
          fail(std::string("invalid escape '\\") + e + "'");
      }
    }
  }

  Value number() {
    const char* start = p_;
    consume('-');
    if (p_ == end_ || !(*p_ >= '0' && *p_ <= '9')) fail("invalid number");
    if (*p_ == '0') {
      ++p_;
    } else {
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    if (consume('.')) {
      if (p_ == end_ || !(*p_ >= '0' && *p_ <= '9')) fail("invalid number: digits expected after '.'");
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ == end_ || !(*p_ >= '0' && *p_ <= '9')) fail("invalid number: digits expected in the exponent");
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    Value v;
    v.type = Value::Type::number;
    v.number_text.assign(start, p_);
    v.number = std::strtod(v.number_text.c_str(), nullptr);
    return v;
  }

  const char* p_;
  const char* begin_;
  const char* end_;
};

void write(const Value& v, std::string& out) {
  switch (v.type) {
    case Value::Type::null: out += "null"; break;
    case Value::Type::boolean: out += v.boolean ? "true" : "false"; break;
    case Value::Type::number:
      if (!v.number_text.empty()) {
        out += v.number_text;
      } else if (!std::isfinite(v.number)) {
        throw std::invalid_argument("JSON cannot represent the number " + std::to_string(v.number));
      } else {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.17g", v.number);
        out += buf;
      }
      break;
    case Value::Type::string: out += quote(v.string); break;
    case Value::Type::array:
      out += '[';
      for (std::size_t i = 0; i < v.array.size(); ++i) {
        if (i) out += ',';
        write(v.array[i], out);
      }
      out += ']';
      break;
    case Value::Type::object:
      out += '{';
      for (std::size_t i = 0; i < v.object.size(); ++i) {
        if (i) out += ',';
        out += quote(v.object[i].first);
        out += ':';
        write(v.object[i].second, out);
      }
      out += '}';
      break;
  }
}

}  // namespace

Value parse(const char* data, std::size_t size) { return Parser(data, size).document(); }
Value parse(const std::string& text) { return parse(text.data(), text.size()); }

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (const char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

std::string stringify(const Value& value) {
  std::string out;
  write(value, out);
  return out;
}

}  // namespace json
}  // namespace md
