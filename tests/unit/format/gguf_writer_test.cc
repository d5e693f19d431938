// GgufWriter: write -> GgufFile::from_bytes gives back identical metadata and tensors; the byte layout matches the
// GGUF v3 spec (checked by hand on a small file and against real files written by llama.cpp's gguf-py);
// add_tensor refuses bad shapes and names; write() goes through a temporary file.
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include <gtest/gtest.h>

#include "base/mapped_file.h"
#include "format/gguf_writer.h"
#include "test_support.h"

namespace pocket {
namespace {

GgufValue scalar(GgufType type) {
  GgufValue v;
  v.type = type;
  return v;
}

GgufValue array(GgufType elem) {
  GgufValue v;
  v.type = GgufType::kArray;
  v.elem_type = elem;
  return v;
}

bool is_float(GgufType t) { return t == GgufType::kFloat32 || t == GgufType::kFloat64; }

// Values compare by their bits (so NaN == NaN and -0.0 != 0.0).
bool same_double(double a, double b) { return std::memcmp(&a, &b, sizeof(a)) == 0; }

void expect_same_value(const std::string& key, const GgufValue& want, const GgufValue& got) {
  SCOPED_TRACE("key " + key);
  ASSERT_EQ(want.type, got.type);
  switch (want.type) {
    case GgufType::kUint8: case GgufType::kUint16: case GgufType::kUint32: case GgufType::kUint64:
      EXPECT_EQ(want.u, got.u);
      break;
    case GgufType::kInt8: case GgufType::kInt16: case GgufType::kInt32: case GgufType::kInt64:
      EXPECT_EQ(want.i, got.i);
      break;
    case GgufType::kFloat32: case GgufType::kFloat64:
      EXPECT_TRUE(same_double(want.f, got.f)) << want.f << " vs " << got.f;
      break;
    case GgufType::kBool: EXPECT_EQ(want.b, got.b); break;
    case GgufType::kString: EXPECT_EQ(want.s, got.s); break;
    case GgufType::kArray:
      ASSERT_EQ(want.elem_type, got.elem_type);
      EXPECT_EQ(want.array_length(), got.array_length());
      if (want.elem_type == GgufType::kString) {
        EXPECT_EQ(want.strs, got.strs);
      } else if (is_float(want.elem_type)) {
        ASSERT_EQ(want.floats.size(), got.floats.size());
        for (size_t k = 0; k < want.floats.size(); ++k) {
          EXPECT_TRUE(same_double(want.floats[k], got.floats[k])) << "element " << k;
        }
      } else {
        EXPECT_EQ(want.ints, got.ints);
      }
      break;
  }
}

// Every kv of `want` is in `got`, in the same order, with the same value; `got` may add general.alignment.
void expect_same_metadata(const std::vector<GgufKv>& want, const GgufFile& got) {
  std::vector<GgufKv> rest;
  for (const auto& kv : got.metadata()) {
    bool wanted = std::any_of(want.begin(), want.end(), [&](auto& w) { return w.key == kv.key; });
    if (wanted || kv.key != "general.alignment") rest.push_back(kv);
  }
  ASSERT_EQ(want.size(), rest.size());
  for (size_t k = 0; k < want.size(); ++k) {
    EXPECT_EQ(want[k].key, rest[k].key);
    expect_same_value(want[k].key, want[k].value, rest[k].value);
  }
}

// Metadata of every value type and arrays of every element type, with edge values.
std::vector<GgufKv> every_value_type() {
  std::vector<GgufKv> kvs;
  auto add = [&](std::string key, GgufValue v) { kvs.push_back({std::move(key), std::move(v)}); };
  GgufValue v = scalar(GgufType::kUint8);
  v.u = 255; add("t.u8", v);
  v = scalar(GgufType::kInt8); v.i = -128; add("t.i8", v);
  v = scalar(GgufType::kUint16); v.u = 65535; add("t.u16", v);
  v = scalar(GgufType::kInt16); v.i = -32768; add("t.i16", v);
  v = scalar(GgufType::kUint32); v.u = 0xffffffffu; add("t.u32", v);
  v = scalar(GgufType::kInt32); v.i = std::numeric_limits<int32_t>::min(); add("t.i32", v);
  v = scalar(GgufType::kUint64); v.u = ~uint64_t{0}; add("t.u64", v);
  v = scalar(GgufType::kInt64); v.i = std::numeric_limits<int64_t>::min(); add("t.i64", v);
  v = scalar(GgufType::kFloat32); v.f = -0.0; add("t.f32.negzero", v);
  v = scalar(GgufType::kFloat32); v.f = std::numeric_limits<float>::denorm_min(); add("t.f32.denorm", v);
  v = scalar(GgufType::kFloat32); v.f = -std::numeric_limits<float>::infinity(); add("t.f32.inf", v);
  v = scalar(GgufType::kFloat32); v.f = 0.1f; add("t.f32", v);
  v = scalar(GgufType::kFloat64); v.f = 0.1; add("t.f64", v);
  v = scalar(GgufType::kFloat64); v.f = std::numeric_limits<double>::quiet_NaN(); add("t.f64.nan", v);
  v = scalar(GgufType::kBool); v.b = true; add("t.bool.true", v);
  v = scalar(GgufType::kBool); v.b = false; add("t.bool.false", v);
  v = scalar(GgufType::kString); v.s = ""; add("t.str.empty", v);
  v = scalar(GgufType::kString); v.s = "h\xc3\xa9llo \xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\xa6\x99\n\ttab"; add("t.str", v);
  v = scalar(GgufType::kString); v.s = std::string("nul\0inside", 10); add("t.str.nul", v);
  v = scalar(GgufType::kString); v.s = "{% for m in messages %}{{ m.content }}{% endfor %}";
  add("tokenizer.chat_template", v);
  add("\xc3\xbcnicode.key.\xe2\x9c\x93", scalar(GgufType::kString));

  // Arrays: one empty and one full of edge values per element type.
  const GgufType int_types[] = {GgufType::kUint8, GgufType::kInt8, GgufType::kUint16, GgufType::kInt16,
                                GgufType::kUint32, GgufType::kInt32, GgufType::kUint64, GgufType::kInt64};
  const std::vector<std::vector<int64_t>> int_values = {
      {0, 1, 255}, {-128, -1, 0, 127}, {0, 65535}, {-32768, 32767}, {0, 4294967295}, {INT32_MIN, INT32_MAX},
      {0, INT64_MAX, static_cast<int64_t>(~uint64_t{0})}, {INT64_MIN, -1, INT64_MAX}};
  for (size_t k = 0; k < 8; ++k) {
    std::string name = fmt::format("a.{}", gguf_type_name(int_types[k]));
    add(name + ".empty", array(int_types[k]));
    GgufValue a = array(int_types[k]);
    a.ints = int_values[k];
    add(name, a);
  }
  GgufValue a = array(GgufType::kBool);
  add("a.bool.empty", a);
  a.ints = {1, 0, 0, 1};
  add("a.bool", a);
  a = array(GgufType::kFloat32);
  add("a.f32.empty", a);
  a.floats = {0.0, -0.0, 1.5, -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::max()};
  add("a.f32", a);
  a = array(GgufType::kFloat64);
  add("a.f64.empty", a);
  a.floats = {0.1, -1e300, std::numeric_limits<double>::denorm_min()};
  add("a.f64", a);
  a = array(GgufType::kString);
  add("a.str.empty", a);
  a.strs = {"", "a", "\xe2\x96\x81the", "\xf0\x9f\x98\x80", std::string(1000, 'x'), ""};
  add("a.str", a);
  return kvs;
}

TEST(GgufWriter, MetadataOfEveryTypeRoundTrips) {
  for (uint32_t alignment : {32u, 1u, 64u}) {
    SCOPED_TRACE(fmt::format("alignment {}", alignment));
    GgufWriter writer(alignment);
    auto kvs = every_value_type();
    for (const auto& kv : kvs) writer.set(kv.key, kv.value);
    std::vector<uint8_t> bytes = writer.to_bytes();
    auto file = GgufFile::from_bytes(bytes, "meta.gguf");
    ASSERT_TRUE(file.ok()) << file.status().message();
    EXPECT_EQ(file->version(), 3u);
    EXPECT_EQ(file->alignment(), alignment);
    EXPECT_TRUE(file->tensors().empty());
    expect_same_metadata(kvs, *file);
    // general.alignment is written exactly when it is not the default.
    EXPECT_EQ(file->find("general.alignment") != nullptr, alignment != 32);
    if (alignment != 32) {
      EXPECT_EQ(file->get_int("general.alignment"), alignment);
    }
    // The typed convenience setters.
    GgufWriter typed;
    typed.set_string("s", "x");
    typed.set_u32("u32", 7);
    typed.set_i32("i32", -7);
    typed.set_u64("u64", uint64_t{1} << 40);
    typed.set_f32("f32", 0.5f);
    typed.set_bool("b", true);
    typed.set_string_array("sa", {"a", ""});
    typed.set_f32_array("fa", {1.0f, -2.5f});
    typed.set_i32_array("ia", {-1, 1});
    std::vector<uint8_t> typed_bytes = typed.to_bytes();
    auto t = GgufFile::from_bytes(typed_bytes, "typed.gguf");
    ASSERT_TRUE(t.ok()) << t.status().message();
    EXPECT_EQ(t->get_string("s"), "x");
    EXPECT_EQ(t->find("u32")->type, GgufType::kUint32);
    EXPECT_EQ(t->get_int("u32"), 7);
    EXPECT_EQ(t->find("i32")->type, GgufType::kInt32);
    EXPECT_EQ(t->get_int("i32"), -7);
    EXPECT_EQ(t->find("u64")->type, GgufType::kUint64);
    EXPECT_EQ(t->get_int("u64"), int64_t{1} << 40);
    EXPECT_EQ(t->find("f32")->type, GgufType::kFloat32);
    EXPECT_EQ(t->get_float("f32"), 0.5);
    EXPECT_EQ(t->get_bool("b"), true);
    EXPECT_EQ(t->find("sa")->strs, (std::vector<std::string>{"a", ""}));
    EXPECT_EQ(t->find("fa")->floats, (std::vector<double>{1.0, -2.5}));
    EXPECT_EQ(t->find("ia")->elem_type, GgufType::kInt32);
    EXPECT_EQ(t->find("ia")->ints, (std::vector<int64_t>{-1, 1}));
  }
}

TEST(GgufWriter, SettingAKeyAgainReplacesItInPlace) {
  GgufWriter writer;
  writer.set_u32("a", 1);
  writer.set_u32("b", 2);
  writer.set_string("a", "now a string");
  std::vector<uint8_t> bytes = writer.to_bytes();
  auto file = GgufFile::from_bytes(bytes, "replace.gguf");
  ASSERT_TRUE(file.ok()) << file.status().message();
  ASSERT_EQ(file->metadata().size(), 2u);
  EXPECT_EQ(file->metadata()[0].key, "a");
  EXPECT_EQ(file->get_string("a"), "now a string");
}

TEST(GgufWriter, LongestKeyAndTensorNameRoundTrip) {
  GgufWriter writer;
  std::string key(65535, 'k');
  writer.set_u32(key, 1);
  std::string name(64, 't');
  std::vector<uint8_t> data(4);
  ASSERT_TRUE(writer.add_tensor(name, DType::kF32, {1}, data).ok());
  std::vector<uint8_t> bytes = writer.to_bytes();
  auto file = GgufFile::from_bytes(bytes, "long.gguf");
  ASSERT_TRUE(file.ok()) << file.status().message();
  EXPECT_EQ(file->get_int(key), 1);
  ASSERT_NE(file->find_tensor(name), nullptr);
}

struct TensorSpec {
  std::string name;
  DType type;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;
};

// Random bytes of the right size for `type` and `shape`. Half-float fields may hold any bits: the reader never
// interprets tensor data.
TensorSpec random_tensor(std::string name, DType type, std::vector<int64_t> shape, std::mt19937& rng) {
  const DTypeInfo& info = dtype_info(type);
  int64_t rows = 1;
  for (size_t d = 1; d < shape.size(); ++d) rows *= shape[d];
  std::vector<uint8_t> data(static_cast<size_t>(row_bytes(info, shape[0]) * rows));
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  return {std::move(name), type, std::move(shape), std::move(data)};
}

std::vector<TensorSpec> tensor_set(std::mt19937& rng) {
  std::vector<TensorSpec> t;
  t.push_back(random_tensor("token_embd.weight", DType::kF32, {8, 3}, rng));
  t.push_back(random_tensor("f16.1d", DType::kF16, {5}, rng));              // 10 bytes: padding after it
  t.push_back(random_tensor("bf16.4d", DType::kBF16, {2, 3, 2, 2}, rng));
  t.push_back(random_tensor("blk.0.q4_0", DType::kQ4_0, {64, 3}, rng));      // 18-byte blocks
  t.push_back(random_tensor("blk.0.q8_0", DType::kQ8_0, {32, 1, 2}, rng));
  t.push_back(random_tensor("blk.0.q4_k", DType::kQ4_K, {256, 2}, rng));
  t.push_back(random_tensor("blk.0.q6_k", DType::kQ6_K, {512, 1}, rng));
  t.push_back(random_tensor("blk.0.iq4_xs", DType::kIQ4_XS, {256}, rng));
  t.push_back(random_tensor("blk.0.iq2_xxs", DType::kIQ2_XXS, {256}, rng));  // no dequant: still writable
  t.push_back(random_tensor("i8.\xc3\xa9", DType::kI8, {3}, rng));
  t.push_back(random_tensor("f64", DType::kF64, {1, 1, 1, 1}, rng));
  return t;
}

TEST(GgufWriter, TensorsRoundTripForSeveralAlignments) {
  for (uint32_t alignment : {32u, 1u, 8u, 64u, 256u, 4096u}) {
    SCOPED_TRACE(fmt::format("alignment {}", alignment));
    std::mt19937 rng(alignment);
    auto tensors = tensor_set(rng);
    GgufWriter writer(alignment);
    writer.set_string("general.architecture", "llama");
    for (const auto& t : tensors) {
      ASSERT_TRUE(writer.add_tensor(t.name, t.type, t.shape, t.data).ok()) << t.name;
    }
    std::vector<uint8_t> bytes = writer.to_bytes();
    auto file = GgufFile::from_bytes(bytes, "tensors.gguf");
    ASSERT_TRUE(file.ok()) << file.status().message();
    EXPECT_EQ(file->alignment(), alignment);
    EXPECT_EQ(file->data_offset() % alignment, 0u);
    EXPECT_EQ(file->get_string("general.architecture"), "llama");
    ASSERT_EQ(file->tensors().size(), tensors.size());
    uint64_t expected_offset = 0;
    for (size_t k = 0; k < tensors.size(); ++k) {
      const TensorSpec& want = tensors[k];
      const GgufTensorInfo& got = file->tensors()[k];
      SCOPED_TRACE(want.name);
      EXPECT_EQ(got.name, want.name);
      EXPECT_EQ(got.dtype->id, want.type);
      EXPECT_EQ(got.shape, want.shape);
      // Tensors are laid out in order, each starting at the next multiple of the alignment.
      EXPECT_EQ(got.offset, expected_offset);
      EXPECT_EQ(got.offset % alignment, 0u);
      EXPECT_EQ(got.n_bytes, want.data.size());
      expected_offset += (want.data.size() + alignment - 1) / alignment * alignment;
      auto span = file->tensor_bytes(got);
      EXPECT_TRUE(std::equal(span.begin(), span.end(), want.data.begin(), want.data.end()));
      EXPECT_EQ(file->find_tensor(want.name), &got);
    }
    // The file ends with the last tensor's padded data.
    EXPECT_EQ(bytes.size(), file->data_offset() + expected_offset);
  }
}

TEST(GgufWriter, AlignmentKeyDecidesTheLayout) {
  GgufWriter writer;  // default 32, but the key says 128
  writer.set_u32("general.alignment", 128);
  std::vector<uint8_t> data(40);
  ASSERT_TRUE(writer.add_tensor("a", DType::kF32, {10}, data).ok());
  ASSERT_TRUE(writer.add_tensor("b", DType::kF32, {10}, data).ok());
  std::vector<uint8_t> bytes = writer.to_bytes();
  auto file = GgufFile::from_bytes(bytes, "align.gguf");
  ASSERT_TRUE(file.ok()) << file.status().message();
  EXPECT_EQ(file->alignment(), 128u);
  EXPECT_EQ(file->data_offset() % 128, 0u);
  EXPECT_EQ(file->tensors()[1].offset, 128u);
  ASSERT_EQ(file->metadata().size(), 1u);  // written once
}

// The exact bytes of a small file, spelled out from the GGUF v3 specification.
TEST(GgufWriter, ByteLayoutMatchesTheSpec) {
  GgufWriter writer;
  writer.set_u32("k", 5);
  std::vector<uint8_t> data = {1, 2, 3, 4, 5, 6, 7, 8};
  ASSERT_TRUE(writer.add_tensor("t", DType::kF32, {2}, data).ok());
  std::vector<uint8_t> want = {'G', 'G', 'U', 'F', 3, 0, 0, 0,  // magic, version 3
                               1, 0, 0, 0, 0, 0, 0, 0,          // n_tensors
                               1, 0, 0, 0, 0, 0, 0, 0,          // n_kv
                               1, 0, 0, 0, 0, 0, 0, 0, 'k',     // key
                               4, 0, 0, 0, 5, 0, 0, 0,          // u32 5
                               1, 0, 0, 0, 0, 0, 0, 0, 't',     // tensor name
                               1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0,  // n_dims 1, ne0 2
                               0, 0, 0, 0,                      // type F32
                               0, 0, 0, 0, 0, 0, 0, 0};         // offset 0
  want.resize(96, 0);                                           // 75 bytes of header, padded to 96
  want.insert(want.end(), data.begin(), data.end());
  want.resize(128, 0);                                          // the tensor padded to 32
  EXPECT_EQ(writer.to_bytes(), want);
}

TEST(GgufWriter, AddTensorRefusesBadTensors) {
  GgufWriter writer;
  std::vector<uint8_t> f32x4(16);
  ASSERT_TRUE(writer.add_tensor("ok", DType::kF32, {4}, f32x4).ok());
  struct Bad {
    std::string name;
    DType type;
    std::vector<int64_t> shape;
    size_t bytes;
    std::string expect;
  };
  const std::vector<Bad> bad = {
      {"ok", DType::kF32, {4}, 16, "duplicate tensor name 'ok'"},
      {"", DType::kF32, {4}, 16, "empty"},
      {std::string(65, 'n'), DType::kF32, {4}, 16, "65"},
      {"no_dims", DType::kF32, {}, 16, "'no_dims': 0 dimensions"},
      {"five_dims", DType::kF32, {4, 1, 1, 1, 1}, 16, "'five_dims': 5 dimensions"},
      {"zero_dim", DType::kF32, {4, 0}, 0, "'zero_dim': dimension 1 is 0"},
      {"negative_dim", DType::kF32, {-4}, 16, "'negative_dim': dimension 0 is -4"},
      {"q4_0_ne0_20", DType::kQ4_0, {20, 2}, 36, "'q4_0_ne0_20': row length 20"},
      {"short_data", DType::kF32, {4, 2}, 16, "'short_data': F32 data is 16 bytes, expected 32"},
      {"long_data", DType::kQ8_0, {32}, 35, "'long_data': Q8_0 data is 35 bytes, expected 34"},
      {"overflow", DType::kF32, {int64_t{1} << 40, int64_t{1} << 40}, 16, "'overflow'"},
  };
  for (const auto& b : bad) {
    std::vector<uint8_t> data(b.bytes);
    Status status = writer.add_tensor(b.name, b.type, b.shape, data);
    ASSERT_FALSE(status.ok()) << b.expect;
    EXPECT_EQ(status.kind(), ErrorKind::kBadInput);
    EXPECT_NE(status.message().find(b.expect), std::string::npos) << status.message();
  }
  // Nothing but the first tensor was added.
  std::vector<uint8_t> bytes = writer.to_bytes();
  auto file = GgufFile::from_bytes(bytes, "bad.gguf");
  ASSERT_TRUE(file.ok()) << file.status().message();
  EXPECT_EQ(file->tensors().size(), 1u);
}

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(n);
    }
    closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST(GgufWriter, WriteGoesThroughATemporaryFile) {
  char dir_template[] = "/tmp/pocket-writer-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  std::string dir = dir_template;
  std::mt19937 rng(7);
  GgufWriter writer(64);
  writer.set_string("general.name", "written");
  for (const auto& t : tensor_set(rng)) ASSERT_TRUE(writer.add_tensor(t.name, t.type, t.shape, t.data).ok());
  std::string path = dir + "/model.gguf";
  ASSERT_TRUE(writer.write(path).ok());
  ASSERT_TRUE(writer.write(path).ok());  // over an existing file
  EXPECT_EQ(list_dir(dir), std::vector<std::string>{"model.gguf"});  // no temporary file left behind
  std::string on_disk = testing::read_file(path);
  EXPECT_EQ(std::vector<uint8_t>(on_disk.begin(), on_disk.end()), writer.to_bytes());
  auto file = GgufFile::open(path);
  ASSERT_TRUE(file.ok()) << file.status().message();
  EXPECT_EQ(file->get_string("general.name"), "written");
  EXPECT_EQ(file->tensors().size(), 11u);

  Status status = writer.write(dir + "/missing/model.gguf");
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.kind(), ErrorKind::kFailure);
  EXPECT_NE(status.message().find("missing/model.gguf"), std::string::npos) << status.message();
  unlink(path.c_str());
  rmdir(dir.c_str());
}

// Declared tensors are produced by the fill while writing (a file never held whole in memory): the bytes equal
// those of the same tensors added with their data; a fill that fails, or a missing fill, leaves nothing behind.
TEST(GgufWriter, DeclaredTensorsAreFilledWhileWriting) {
  char dir_template[] = "/tmp/pocket-writer-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  std::mt19937 rng(11);
  const auto tensors = tensor_set(rng);
  GgufWriter whole, streamed;
  for (GgufWriter* w : {&whole, &streamed}) w->set_string("general.name", "streamed");
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = tensors[i];
    ASSERT_TRUE(whole.add_tensor(t.name, t.type, t.shape, t.data).ok());
    // Every other tensor declared, the rest added with data: both kinds mix in one file.
    if (i % 2 == 0) {
      ASSERT_TRUE(streamed.declare_tensor(t.name, t.type, t.shape).ok());
    } else {
      ASSERT_TRUE(streamed.add_tensor(t.name, t.type, t.shape, t.data).ok());
    }
  }
  const std::string path = dir + "/streamed.gguf";
  std::vector<size_t> filled;
  ASSERT_TRUE(streamed.write(path, [&](size_t index, std::span<uint8_t> out) {
    filled.push_back(index);
    EXPECT_EQ(out.size(), tensors[index].data.size());
    std::copy(tensors[index].data.begin(), tensors[index].data.end(), out.begin());
    return ok_status();
  }).ok());
  for (size_t k = 0; k < filled.size(); ++k) EXPECT_EQ(filled[k], 2 * k);
  const std::string on_disk = testing::read_file(path);
  EXPECT_EQ(std::vector<uint8_t>(on_disk.begin(), on_disk.end()), whole.to_bytes());

  const std::string failed = dir + "/failed.gguf";
  Status s = streamed.write(failed, [](size_t, std::span<uint8_t>) { return failure("disk on fire"); });
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("disk on fire"), std::string::npos) << s.message();
  s = streamed.write(failed);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("declared but nothing fills it"), std::string::npos) << s.message();
  EXPECT_EQ(list_dir(dir), std::vector<std::string>{"streamed.gguf"});  // no failed.gguf, no temporary file
  unlink(path.c_str());
  rmdir(dir.c_str());
}

// Copying a real file (written by llama.cpp's gguf-py) kv by kv and tensor by tensor reproduces it byte for byte:
// the strongest check that the writer's layout is the format's, padding included.
void expect_rewrite_identical(const std::string& path) {
  SCOPED_TRACE(path);
  auto source = GgufFile::open(path);
  ASSERT_TRUE(source.ok()) << source.status().message();
  GgufWriter writer(source->alignment());
  writer.copy_metadata(*source);
  for (const auto& t : source->tensors()) {
    ASSERT_TRUE(writer.add_tensor(t.name, t.dtype->id, t.shape, source->tensor_bytes(t)).ok()) << t.name;
  }
  std::vector<uint8_t> bytes = writer.to_bytes();
  auto original = MappedFile::open(path);
  ASSERT_TRUE(original.ok());
  auto want = original->bytes();
  ASSERT_EQ(bytes.size(), want.size());
  size_t first_diff = 0;
  while (first_diff < bytes.size() && bytes[first_diff] == want[first_diff]) ++first_diff;
  EXPECT_EQ(first_diff, bytes.size()) << "first difference at byte " << first_diff;
  auto reread = GgufFile::from_bytes(bytes, "rewritten.gguf");
  ASSERT_TRUE(reread.ok()) << reread.status().message();
  expect_same_metadata(source->metadata(), *reread);
}

TEST(GgufWriter, RewritingRealFilesIsByteIdentical) {
  const std::string shared = testing::shared_dir();
  expect_rewrite_identical(shared + "/models/tiny-stories/tiny-stories.gguf");
  expect_rewrite_identical(shared + "/reference/models/llama-gqa-Q4_0.gguf");
  expect_rewrite_identical(shared + "/reference/models/llama-gqa-Q2_K.gguf");
}

TEST(GgufWriter, VersionTwoFilesReadTheSame) {
  GgufWriter writer;
  writer.set_string("general.architecture", "llama");
  std::vector<uint8_t> data(16);
  ASSERT_TRUE(writer.add_tensor("t", DType::kF32, {4}, data).ok());
  std::vector<uint8_t> bytes = writer.to_bytes();
  bytes[4] = 2;  // v2 has v3's layout (v3 only added big-endian files, flagged by the version's byte order)
  auto file = GgufFile::from_bytes(bytes, "v2.gguf");
  ASSERT_TRUE(file.ok()) << file.status().message();
  EXPECT_EQ(file->version(), 2u);
  EXPECT_EQ(file->tensors().size(), 1u);
}

}  // namespace
}  // namespace pocket
