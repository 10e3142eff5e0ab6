#include "safetensors.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cmath>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "json.h"

#ifdef _WIN32
#include <cstdio>
#else
#include <fcntl.h>
#include <unistd.h>
#endif

namespace md {

namespace {

// The reference implementation refuses headers above 100 MB; so do we, so a
// corrupt length cannot make us allocate gigabytes.
constexpr uint64_t kMaxHeader = 100ull * 1000 * 1000;

bool host_is_little_endian() {
  const uint16_t one = 1;
  unsigned char first;
  std::memcpy(&first, &one, 1);
  return first == 1;
}

[[noreturn]] void fail(const std::string& source, const std::string& what) {
  throw std::runtime_error(source + ": " + what);
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Bytes per element of the dtypes the format defines; 0 = not a safetensors dtype.
std::size_t dtype_size(const std::string& d) {
  if (d == "F64" || d == "I64" || d == "U64") return 8;
  if (d == "F32" || d == "I32" || d == "U32") return 4;
  if (d == "F16" || d == "BF16" || d == "I16" || d == "U16") return 2;
  if (d == "I8" || d == "U8" || d == "BOOL" || d == "F8_E4M3" || d == "F8_E5M2") return 1;
  return 0;
}

// I8: the int8 weights of a quantized model folder (their scales are separate F32 tensors);
// converted to float exactly, the quantized models narrow them again (quantized_textcnn.h).
bool dtype_readable(const std::string& d) {
  return d == "F32" || d == "F16" || d == "BF16" || d == "F64" || d == "I8";
}

uint64_t read_u64_le(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void convert(const std::string& dtype, const unsigned char* src, std::size_t n, float* dst) {
  if (dtype == "F32") {
    std::memcpy(dst, src, n * 4);
  } else if (dtype == "I8") {
    for (std::size_t i = 0; i < n; ++i) dst[i] = static_cast<float>(static_cast<int8_t>(src[i]));
  } else if (dtype == "F64") {
    for (std::size_t i = 0; i < n; ++i) {
      double d;
      std::memcpy(&d, src + 8 * i, 8);
      dst[i] = static_cast<float>(d);
    }
  } else {
    const bool half = dtype == "F16";
    for (std::size_t i = 0; i < n; ++i) {
      const uint16_t h = static_cast<uint16_t>(src[2 * i] | (src[2 * i + 1] << 8));
      dst[i] = half ? half_to_float(h) : bfloat16_to_float(h);
    }
  }
}

struct Entry {
  std::string name, dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;
};

}  // namespace

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1Fu;
  uint32_t mant = h & 0x3FFu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal half: normalise into a float
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while (!(mant & 0x400u));
      mant &= 0x3FFu;
      bits = sign | (static_cast<uint32_t>(112 - e) << 23) | (mant << 13);
    }
  } else if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float bfloat16_to_float(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

const NamedTensor* SafeTensors::find(const std::string& name) const {
  for (const NamedTensor& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

const std::string* SafeTensors::find_metadata(const std::string& key) const {
  for (const auto& kv : metadata)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

SafeTensors parse_safetensors(const char* bytes, std::size_t size, const std::string& source) {
  if (!host_is_little_endian()) fail(source, "safetensors reading needs a little-endian machine");
  const unsigned char* data = reinterpret_cast<const unsigned char*>(bytes);
  if (size < 8) fail(source, "truncated header: the file has " + std::to_string(size) + " bytes, fewer than the 8-byte header length");
  const uint64_t header_len = read_u64_le(data);
  if (header_len > kMaxHeader)
    fail(source, "header length " + std::to_string(header_len) + " is larger than the 100 MB limit (not a safetensors file?)");
  if (header_len > size - 8)
    fail(source, "truncated header: header length " + std::to_string(header_len) + " but only " +
                     std::to_string(size - 8) + " bytes follow it");
  json::Value header;
  try {
    header = json::parse(bytes + 8, static_cast<std::size_t>(header_len));
  } catch (const std::invalid_argument& e) {
    fail(source, std::string("header JSON invalid: ") + e.what());
  }
  if (!header.is_object()) fail(source, "header JSON invalid: the header is not a JSON object");

  SafeTensors out;
  out.source = source;
  std::vector<Entry> entries;
  for (const auto& member : header.object) {
    const std::string& name = member.first;
    const json::Value& v = member.second;
    if (name == "__metadata__") {
      if (!v.is_object()) fail(source, "__metadata__ must be an object of strings");
      for (const auto& kv : v.object) {
        if (!kv.second.is_string()) fail(source, "__metadata__ value of \"" + kv.first + "\" is not a string");
        out.metadata.emplace_back(kv.first, kv.second.string);
      }
      continue;
    }
    const std::string where = "tensor " + name;
    if (!v.is_object()) fail(source, where + ": entry is not an object");
    const json::Value* dtype = v.find("dtype");
    const json::Value* shape = v.find("shape");
    const json::Value* offsets = v.find("data_offsets");
    if (!dtype || !dtype->is_string()) fail(source, where + ": missing or non-string \"dtype\"");
    if (!shape || !shape->is_array()) fail(source, where + ": missing or non-array \"shape\"");
    if (!offsets || !offsets->is_array() || offsets->array.size() != 2)
      fail(source, where + ": \"data_offsets\" must be an array [begin, end]");
    Entry e;
    e.name = name;
    e.dtype = dtype->string;
    const std::size_t elem = dtype_size(e.dtype);
    if (elem == 0) fail(source, where + ": unknown dtype \"" + e.dtype + "\"");
    if (!dtype_readable(e.dtype))
      fail(source, where + ": unsupported dtype " + e.dtype + " (weights must be F32, F16, BF16, F64 or I8)");
    uint64_t numel = 1;
    for (const json::Value& d : shape->array) {
      uint64_t n;
      if (!d.to_uint64(n) || n > (uint64_t{1} << 40)) fail(source, where + ": shape entries must be non-negative integers");
      if (n != 0 && numel > (uint64_t{1} << 40) / n) fail(source, where + ": shape " + json::stringify(*shape) + " is too large");
      numel *= n;
      e.shape.push_back(static_cast<int64_t>(n));
    }
    if (!offsets->array[0].to_uint64(e.begin) || !offsets->array[1].to_uint64(e.end))
      fail(source, where + ": data_offsets must be non-negative integers");
    if (e.end < e.begin)
      fail(source, where + ": data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "] end before they begin");
    if (e.end - e.begin != numel * elem)
      fail(source, where + ": data_offsets span " + std::to_string(e.end - e.begin) + " bytes but shape " +
                       shape_string(e.shape) + " of " + e.dtype + " needs " + std::to_string(numel * elem));
    entries.push_back(std::move(e));
  }

  // Offsets: no overlap, and every byte inside the file.
  const uint64_t data_size = size - 8 - header_len;
  std::vector<const Entry*> by_offset;
  for (const Entry& e : entries) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(), [](const Entry* a, const Entry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  for (std::size_t i = 1; i < by_offset.size(); ++i)
    if (by_offset[i]->begin < by_offset[i - 1]->end)
      fail(source, "data_offsets of tensors " + by_offset[i - 1]->name + " and " + by_offset[i]->name + " overlap");
  for (const Entry* e : by_offset)
    if (e->end > data_size)
      fail(source, "truncated weights: tensor " + e->name + " ends at byte " + std::to_string(e->end) +
                       " of the data section, which has only " + std::to_string(data_size) + " bytes");

  const unsigned char* section = data + 8 + header_len;
  for (const Entry& e : entries) {
    NamedTensor t;
    t.name = e.name;
    t.dtype = e.dtype;
    t.tensor = Tensor(e.shape);
    convert(e.dtype, section + e.begin, t.tensor.size(), t.tensor.ptr());
    out.tensors.push_back(std::move(t));
  }
  return out;
}

SafeTensors read_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, std::string("cannot open: ") + std::strerror(errno));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) fail(path, "read error");
  return parse_safetensors(bytes.data(), bytes.size(), path);
}

std::string serialize_safetensors(const std::vector<std::pair<std::string, const Tensor*>>& tensors,
                                  const std::vector<std::pair<std::string, std::string>>& metadata) {
  std::vector<std::pair<std::string, json::Value>> header;
  if (!metadata.empty()) {
    std::vector<std::pair<std::string, json::Value>> meta;
    for (const auto& kv : metadata) meta.emplace_back(kv.first, json::Value::make_string(kv.second));
    header.emplace_back("__metadata__", json::Value::make_object(std::move(meta)));
  }
  uint64_t offset = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const std::string& name = tensors[i].first;
    const Tensor& t = *tensors[i].second;
    if (name.empty() || name == "__metadata__")
      throw std::invalid_argument("invalid tensor name \"" + name + "\" for safetensors");
    for (std::size_t j = 0; j < i; ++j)
      if (tensors[j].first == name) throw std::invalid_argument("duplicate tensor name " + name + " for safetensors");
    if (t.size() != Tensor::count(t.shape))
      throw std::invalid_argument("tensor " + name + " holds " + std::to_string(t.size()) + " values for shape " +
                                  t.shape_string());
    std::vector<json::Value> shape;
    for (int64_t d : t.shape) shape.push_back(json::Value::make_integer(d));
    const uint64_t bytes = static_cast<uint64_t>(t.size()) * 4;
    header.emplace_back(name, json::Value::make_object({
                                  {"dtype", json::Value::make_string("F32")},
                                  {"shape", json::Value::make_array(std::move(shape))},
                                  {"data_offsets", json::Value::make_array({json::Value::make_integer(static_cast<int64_t>(offset)),
                                                                            json::Value::make_integer(static_cast<int64_t>(offset + bytes))})},
                              }));
    offset += bytes;
  }
  std::string text = json::stringify(json::Value::make_object(std::move(header)));
  // Pad with spaces so the data section starts 8-byte aligned (8 + len is a multiple of 8).
  while (text.size() % 8 != 0) text += ' ';
  std::string out;
  out.reserve(8 + text.size() + offset);
  const uint64_t len = text.size();
  for (int i = 0; i < 8; ++i) out += static_cast<char>((len >> (8 * i)) & 0xFF);
  out += text;
  if (!host_is_little_endian()) throw std::runtime_error("safetensors writing needs a little-endian machine");
  for (const auto& nt : tensors)
    out.append(reinterpret_cast<const char*>(nt.second->ptr()), nt.second->size() * sizeof(float));
  return out;
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  static std::atomic<unsigned> counter{0};
#ifdef _WIN32
  const std::string tmp = path + ".tmp-" + std::to_string(counter++);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail(path, "cannot create temporary file " + tmp);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      fail(path, "write failed");
    }
  }
  std::remove(path.c_str());
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    fail(path, "cannot rename the temporary file into place");
  }
#else
  // Same folder as the target, so rename() is atomic (no cross-device move).
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) fail(path, "cannot create temporary file " + tmp + ": " + std::strerror(errno));
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      fail(path, std::string("write failed: ") + std::strerror(err));
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail(path, std::string("cannot flush to disk: ") + std::strerror(err));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail(path, std::string("cannot rename the temporary file into place: ") + std::strerror(err));
  }
  // Make the rename itself durable (best effort: some file systems refuse fsync on a folder).
  const std::size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const int dfd = ::open(dir.c_str(), O_RDONLY);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
#endif
}

void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, const Tensor*>>& tensors,
                       const std::vector<std::pair<std::string, std::string>>& metadata) {
  write_file_atomic(path, serialize_safetensors(tensors, metadata));
}

void save_parameters(const StudentModel& model, const std::string& path,
                     const std::vector<std::pair<std::string, std::string>>& metadata) {
  std::vector<std::pair<std::string, const Tensor*>> tensors;
  for (const Parameter* p : model.parameters()) tensors.emplace_back(p->name, &p->value);
  write_safetensors(path, tensors, metadata);
}

LoadReport load_parameters(StudentModel& model, const SafeTensors& file) {
  std::vector<Parameter*> params = model.parameters();
  std::vector<std::string> problems;
  for (const Parameter* p : params) {
    const NamedTensor* t = file.find(p->name);
    if (!t) {
      problems.push_back("missing tensor " + p->name);
    } else if (t->tensor.shape != p->value.shape) {
      problems.push_back("shape mismatch for " + p->name + ": file " + shape_string(t->tensor.shape) + " vs model " +
                         shape_string(p->value.shape));
    }
  }
  // A NaN or infinite weight would load and serve NaN scores; refuse it here, naming the tensor.
  for (const Parameter* p : params) {
    const NamedTensor* t = file.find(p->name);
    if (!t || !problems.empty()) continue;
    const float* values = t->tensor.ptr();
    for (std::size_t i = 0; i < t->tensor.size(); ++i) {
      if (!std::isfinite(values[i])) {
        problems.push_back("tensor " + p->name + " holds " + (std::isnan(values[i]) ? "NaN" : "an infinite value") +
                           " at index " + std::to_string(i) + " (weights must be finite numbers)");
        break;
      }
    }
  }
  if (!problems.empty()) {
    std::string message = file.source + ": ";
    for (std::size_t i = 0; i < problems.size(); ++i) message += (i ? "; " : "") + problems[i];
    throw std::runtime_error(message);
  }
  LoadReport report;
  for (Parameter* p : params) {
    p->value.data = file.find(p->name)->tensor.data;
    ++report.loaded;
  }
  for (const NamedTensor& t : file.tensors) {
    const bool known = std::any_of(params.begin(), params.end(), [&](const Parameter* p) { return p->name == t.name; });
    if (!known) report.unexpected.push_back(t.name);
  }
  return report;
}

}  // namespace md
