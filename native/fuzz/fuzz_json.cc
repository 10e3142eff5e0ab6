// libFuzzer harness: the core's JSON reader (native/core/json.cc), which parses every safetensors
// header. Any input must either parse or throw std::invalid_argument; a crash, a leak or undefined
// behaviour (ASan + UBSan) is a bug. A parsed value must stringify and parse back to the same text.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  md::json::Value value;
  try {
    value = md::json::parse(reinterpret_cast<const char*>(data), size);
  } catch (const std::invalid_argument&) {
    return 0;  // rejected with a message: fine
  }
  const std::string once = md::json::stringify(value);
  const std::string twice = md::json::stringify(md::json::parse(once));
  if (once != twice) __builtin_trap();  // stringify must round-trip
  return 0;
}
