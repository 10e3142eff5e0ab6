// safetensors: round trip, atomic write, a file written by an independent
// (Python, by hand) writer, F16/BF16 conversion, every corruption case with its
// error, and loading into a model (missing tensor, shape mismatch, unexpected).
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <functional>
#include <limits>
#include <string>
#include <unistd.h>
#include <vector>

#include "check.h"
#include "fixtures.h"
#include "safetensors.h"

namespace {

using fixtures::error_of;

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

#define CHECK_ERROR(expr, part)                                                              \
  do {                                                                                       \
    const std::string check_msg_ = error_of([&] { (void)(expr); });                          \
    if (!contains(check_msg_, part))                                                         \
      check::fail(__FILE__, __LINE__, "error \"" + check_msg_ + "\" lacks \"" + (part) + "\""); \
  } while (0)

md::Tensor tensor(std::vector<int64_t> shape, std::vector<float> values) {
  md::Tensor t(std::move(shape));
  t.data = std::move(values);
  return t;
}

// A safetensors file from a hand-written header and data bytes.
std::string make_file(const std::string& header, const std::string& data) {
  std::string out;
  const uint64_t len = header.size();
  for (int i = 0; i < 8; ++i) out += static_cast<char>((len >> (8 * i)) & 0xFF);
  return out + header + data;
}

std::string temp_dir() {
  char tmpl[] = "/tmp/md-safetensors-XXXXXX";
  const char* dir = mkdtemp(tmpl);
  if (!dir) throw std::runtime_error("mkdtemp failed");
  return dir;
}

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d))
      if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, "..")) names.push_back(e->d_name);
    closedir(d);
  }
  return names;
}

std::string fixture_dir() {
  std::string here = __FILE__;  // absolute in CMake builds
  return here.substr(0, here.find_last_of('/')) + "/fixtures";
}

// Three named parameters and nothing else: enough to exercise load/save.
class TinyModel : public md::StudentModel {
 public:
  TinyModel(int in, int out) {
    w_.name = "fc.weight";
    w_.value = md::Tensor({out, in});
    b_.name = "fc.bias";
    b_.value = md::Tensor({out});
    e_.name = "embedding.weight";
    e_.value = md::Tensor({4, in});
    float x = 0.25f;
    for (md::Parameter* p : parameters())
      for (float& v : p->value.data) v = (x += 0.5f);
  }
  std::string kind() const override { return "tiny"; }
  int num_classes() const override { return static_cast<int>(b_.value.size()); }
  int vocab_size() const override { return 4; }
  std::vector<md::Parameter*> parameters() override { return {&e_, &w_, &b_}; }
  std::unique_ptr<md::TrainContext> make_context() const override { return nullptr; }
  void forward_train(md::TrainContext&, const md::Batch&, md::Rng&, float*) const override {}
  void backward(md::TrainContext&, const md::Batch&, const float*, md::Gradients&) const override {}
  void forward_reference(const md::Batch&, float*) const override {}
  void prepare_inference() override {}
  void forward_fast(const md::Batch&, float*) const override {}

 private:
  md::Parameter e_, w_, b_;
};

}  // namespace

TEST(round_trip_keeps_names_shapes_values_and_metadata) {
  const md::Tensor a = tensor({2, 3}, {1, -2, 3.5f, 0, 1e-30f, -7e20f});
  const md::Tensor b = tensor({4}, {std::numeric_limits<float>::infinity(), -0.0f, 0.1f, 3});
  const md::Tensor s = tensor({}, {9});
  const std::string bytes = md::serialize_safetensors({{"a", &a}, {"b.bias", &b}, {"s", &s}},
                                                      {{"format", "pt"}, {"note", "quote \" slash \\ 中文\n"}});
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  CHECK_EQ((8 + header_len) % 8, uint64_t{0});  // data section aligned
  CHECK_EQ(bytes.size(), 8 + header_len + 4 * (6 + 4 + 1));
  const md::SafeTensors f = md::parse_safetensors(bytes.data(), bytes.size(), "mem");
  CHECK_EQ(f.tensors.size(), std::size_t{3});
  CHECK_EQ(f.tensors[1].name, std::string("b.bias"));
  CHECK(f.find("a")->tensor.shape == a.shape);
  CHECK(f.find("a")->tensor.data == a.data);
  CHECK(std::memcmp(f.find("b.bias")->tensor.ptr(), b.ptr(), 16) == 0);  // bitwise, incl. -0 and inf
  CHECK(f.find("s")->tensor.shape.empty());
  CHECK_EQ(f.find("s")->tensor.data[0], 9.0f);
  CHECK_EQ(f.find("a")->dtype, std::string("F32"));
  CHECK_EQ(*f.find_metadata("note"), std::string("quote \" slash \\ 中文\n"));
  CHECK(f.find("missing") == nullptr);
}

TEST(write_is_atomic_and_leaves_no_temporary_file) {
  const std::string dir = temp_dir(), path = dir + "/weights.safetensors";
  const md::Tensor a = tensor({3}, {1, 2, 3});
  md::write_safetensors(path, {{"a", &a}});
  const md::Tensor a2 = tensor({2}, {5, 6});
  md::write_safetensors(path, {{"a", &a2}}, {{"v", "2"}});  // replaces the old file whole
  const md::SafeTensors f = md::read_safetensors(path);
  CHECK(f.find("a")->tensor.data == a2.data);
  CHECK_EQ(f.source, path);
  CHECK(list_dir(dir) == std::vector<std::string>{"weights.safetensors"});
  // A folder that does not exist: error names the path, nothing created.
  CHECK_ERROR(md::write_safetensors(dir + "/no/such/w.safetensors", {{"a", &a}}), dir + "/no/such/w.safetensors: cannot create");
  CHECK_ERROR(md::read_safetensors(dir + "/absent.safetensors"), dir + "/absent.safetensors: cannot open");
  std::remove(path.c_str());
  rmdir(dir.c_str());
}

TEST(reads_a_file_written_by_python) {
  const std::string path = fixture_dir() + "/python_written.safetensors";
  const md::SafeTensors f = md::read_safetensors(path);
  CHECK_EQ(f.tensors.size(), std::size_t{4});
  CHECK_EQ(f.tensors[0].name, std::string("fc.weight"));
  const md::NamedTensor* w = f.find("fc.weight");
  CHECK(w->tensor.shape == (std::vector<int64_t>{2, 3}));
  CHECK(w->tensor.data == (std::vector<float>{0.5f, -1.25f, 3.0f, 1e-3f, -2.5e6f, 7.0f}));
  const md::NamedTensor* h = f.find("half");
  CHECK_EQ(h->dtype, std::string("F16"));
  CHECK(h->tensor.data == (std::vector<float>{1.5f, -0.0f, 65504.0f, std::ldexp(1.0f, -24), -3.140625f}));
  CHECK(std::signbit(h->tensor.data[1]));
  const md::NamedTensor* b = f.find("brain");
  CHECK_EQ(b->dtype, std::string("BF16"));
  CHECK(b->tensor.shape == (std::vector<int64_t>{2, 2}));
  CHECK(b->tensor.data == (std::vector<float>{1.0f, -2.0f, 0.15625f, 1.5f * std::ldexp(1.0f, 33)}));
  CHECK(f.find("scalar")->tensor.shape.empty());
  CHECK_EQ(f.find("scalar")->tensor.data[0], 42.0f);
  CHECK_EQ(*f.find_metadata("format"), std::string("pt"));
  CHECK_EQ(*f.find_metadata("note"), std::string("écrit par \"Python\"\n\t中文"));
}

TEST(half_and_bfloat16_conversion_is_exact) {
  CHECK_EQ(md::half_to_float(0x3C00), 1.0f);
  CHECK_EQ(md::half_to_float(0xC000), -2.0f);
  CHECK_EQ(md::half_to_float(0x7BFF), 65504.0f);
  CHECK_EQ(md::half_to_float(0x0400), std::ldexp(1.0f, -14));          // smallest normal
  CHECK_EQ(md::half_to_float(0x0001), std::ldexp(1.0f, -24));          // smallest subnormal
  CHECK_EQ(md::half_to_float(0x03FF), 1023.0f * std::ldexp(1.0f, -24)); // largest subnormal
  CHECK_EQ(md::half_to_float(0x0200), std::ldexp(1.0f, -15));
  CHECK(std::isinf(md::half_to_float(0x7C00)) && md::half_to_float(0x7C00) > 0);
  CHECK(std::isinf(md::half_to_float(0xFC00)) && md::half_to_float(0xFC00) < 0);
  CHECK(std::isnan(md::half_to_float(0x7E00)));
  CHECK(std::signbit(md::half_to_float(0x8000)) && md::half_to_float(0x8000) == 0.0f);
  CHECK_EQ(md::bfloat16_to_float(0x3F80), 1.0f);
  CHECK_EQ(md::bfloat16_to_float(0xC040), -3.0f);
}

TEST(each_corruption_gives_its_error_naming_the_file) {
  const std::string src = "weights.safetensors";
  auto parse = [&](const std::string& bytes) { return md::parse_safetensors(bytes.data(), bytes.size(), src); };
  const std::string four_floats(16, '\0');

  CHECK_ERROR(parse("abc"), "weights.safetensors: truncated header: the file has 3 bytes");
  std::string short_header = make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", four_floats);
  CHECK_ERROR(parse(short_header.substr(0, 20)), "weights.safetensors: truncated header: header length 55 but only 12 bytes");
  CHECK_ERROR(parse(make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}", four_floats)),
              "weights.safetensors: header JSON invalid: expected ',' or '}' in an object at offset");
  CHECK_ERROR(parse(make_file("[1,2]", "")), "header JSON invalid: the header is not a JSON object");
  CHECK_ERROR(parse(make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                              "\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", four_floats)),
              "duplicate key \"a\"");
  // Truncated weights: the data section is shorter than the offsets say.
  CHECK_ERROR(parse(make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", four_floats.substr(0, 12))),
              "weights.safetensors: truncated weights: tensor a ends at byte 16 of the data section, which has only 12 bytes");
  // Offsets out of range of the file.
  CHECK_ERROR(parse(make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[1000,1004]}}", four_floats)),
              "truncated weights: tensor a ends at byte 1004");
  CHECK_ERROR(parse(make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", four_floats)),
              "tensor a: data_offsets [8, 4] end before they begin");
  CHECK_ERROR(parse(make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                              "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", four_floats)),
              "weights.safetensors: data_offsets of tensors a and b overlap");
  CHECK_ERROR(parse(make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,16]}}", four_floats)),
              "tensor a: data_offsets span 16 bytes but shape [3] of F32 needs 12");
  CHECK_ERROR(parse(make_file("{\"a\":{\"dtype\":\"F33\",\"shape\":[4],\"data_offsets\":[0,16]}}", four_floats)),
              "weights.safetensors: tensor a: unknown dtype \"F33\"");
  CHECK_ERROR(parse(make_file("{\"a\":{\"dtype\":\"I32\",\"shape\":[4],\"data_offsets\":[0,16]}}", four_floats)),
              "tensor a: unsupported dtype I32 (weights must be F32, F16, BF16, F64 or I8)");
  CHECK_ERROR(parse(make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[-4],\"data_offsets\":[0,16]}}", four_floats)),
              "tensor a: shape entries must be non-negative integers");
  CHECK_ERROR(parse(make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[4]}}", four_floats)),
              "tensor a: \"data_offsets\" must be an array [begin, end]");
  CHECK_ERROR(parse(make_file("{\"__metadata__\":{\"k\":1}}", "")), "__metadata__ value of \"k\" is not a string");
  std::string huge(8, '\xff');
  CHECK_ERROR(parse(huge + "{}"), "larger than the 100 MB limit");
  // A valid file with its last byte cut off: truncated weights.
  const md::Tensor t = tensor({2}, {1, 2});
  const std::string good = md::serialize_safetensors({{"t", &t}});
  CHECK_ERROR(parse(good.substr(0, good.size() - 1)), "truncated weights: tensor t");
  CHECK(parse(good).find("t") != nullptr);
}

TEST(load_parameters_checks_names_and_shapes_all_or_nothing) {
  const std::string dir = temp_dir(), path = dir + "/weights.safetensors";
  TinyModel source(3, 2);
  md::save_parameters(source, path, {{"kind", "tiny"}});
  const md::SafeTensors file = md::read_safetensors(path);
  CHECK_EQ(file.tensors[0].name, std::string("embedding.weight"));  // parameters() order

  TinyModel target(3, 2);
  for (md::Parameter* p : target.parameters()) p->value.zero();
  const md::LoadReport ok = md::load_parameters(target, file);
  CHECK_EQ(ok.loaded, 3);
  CHECK(ok.unexpected.empty());
  for (std::size_t i = 0; i < 3; ++i) CHECK(target.parameters()[i]->value.data == source.parameters()[i]->value.data);

  // Shape mismatch: error names the tensor and both shapes; nothing copied.
  TinyModel wider(5, 2);
  const std::vector<float> before = wider.parameters()[2]->value.data;
  CHECK_EQ(error_of([&] { md::load_parameters(wider, file); }),
           path + ": shape mismatch for embedding.weight: file [4, 3] vs model [4, 5]; "
                  "shape mismatch for fc.weight: file [2, 3] vs model [2, 5]");
  CHECK(wider.parameters()[2]->value.data == before);  // fc.bias matched but was not copied

  // Missing tensor, and unexpected ones reported.
  md::SafeTensors partial = file;
  partial.source = "weights.safetensors";
  partial.tensors.pop_back();  // drop fc.bias
  CHECK_EQ(error_of([&] { md::load_parameters(target, partial); }),
           std::string("weights.safetensors: missing tensor fc.bias"));
  md::SafeTensors extra = file;
  extra.tensors.push_back({"optimizer.step", "F32", tensor({1}, {3})});
  const md::LoadReport r = md::load_parameters(target, extra);
  CHECK(r.unexpected == std::vector<std::string>{"optimizer.step"});
  std::remove(path.c_str());
  rmdir(dir.c_str());
}

CHECK_MAIN()
