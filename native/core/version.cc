#include "version.h"

#include "simd.h"

namespace md {

const char* core_version() { return "0.1.0"; }

std::string simd_level() { return simd_level_name(simd_default_level()); }

}  // namespace md
