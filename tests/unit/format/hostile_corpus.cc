#include "hostile_corpus.h"

#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>

#include "format/gguf_writer.h"
#include "tensor/dtype.h"

namespace pocket::testing {
namespace {

// Aborts the test binary: the helpers are only ever given well-formed input, so a failure is a bug in a test.
void require(bool cond, const char* what) {
  if (!cond) {
    std::fprintf(stderr, "hostile_corpus: internal error: %s\n", what);
    std::abort();
  }
}

template <typename T>
void put(std::vector<uint8_t>& out, T v) {
  size_t at = out.size();
  out.resize(at + sizeof(T));
  std::memcpy(out.data() + at, &v, sizeof(T));
}

void put_string(std::vector<uint8_t>& out, const std::string& s) {
  put<uint64_t>(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

// A trusted cursor over a well-formed file.
struct Walker {
  std::span<const uint8_t> bytes;
  uint64_t pos = 0;
  template <typename T>
  T read() {
    require(pos + sizeof(T) <= bytes.size(), "split_gguf: read past the end");
    T v;
    std::memcpy(&v, bytes.data() + pos, sizeof(T));
    pos += sizeof(T);
    return v;
  }
  std::string read_string() {
    uint64_t n = read<uint64_t>();
    require(pos + n <= bytes.size(), "split_gguf: string past the end");
    std::string s(reinterpret_cast<const char*>(bytes.data() + pos), n);
    pos += n;
    return s;
  }
  // Skips one value of GGUF type `type` (arrays included).
  void skip_value(uint32_t type) {
    static const uint64_t kSizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    require(type <= 12, "split_gguf: unknown type");
    if (type == 8) {
      read_string();
    } else if (type == 9) {
      uint32_t elem = read<uint32_t>();
      uint64_t count = read<uint64_t>();
      for (uint64_t k = 0; k < count; ++k) skip_value(elem);
    } else {
      pos += kSizes[type];
      require(pos <= bytes.size(), "split_gguf: value past the end");
    }
  }
};

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

}  // namespace

std::vector<uint8_t> RawGguf::bytes() const {
  std::vector<uint8_t> out;
  out.insert(out.end(), magic.begin(), magic.end());
  put<uint32_t>(out, version);
  put<uint64_t>(out, n_tensors_override.value_or(tensors.size()));
  put<uint64_t>(out, n_kv_override.value_or(kvs.size()));
  for (const auto& kv : kvs) {
    put_string(out, kv.key);
    out.insert(out.end(), kv.value.begin(), kv.value.end());
  }
  for (const auto& t : tensors) {
    put_string(out, t.name);
    put<uint32_t>(out, t.n_dims_override.value_or(static_cast<uint32_t>(t.dims.size())));
    for (uint64_t ne : t.dims) put<uint64_t>(out, ne);
    put<uint32_t>(out, t.type);
    put<uint64_t>(out, t.offset);
  }
  out.resize(align_up(out.size(), alignment), 0);
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

uint64_t RawGguf::kv_offset(size_t index) const {
  uint64_t off = magic.size() + 4 + 8 + 8;
  for (size_t k = 0; k < index; ++k) off += 8 + kvs[k].key.size() + kvs[k].value.size();
  return off;
}

uint64_t RawGguf::tensor_info_offset(size_t index) const {
  uint64_t off = kv_offset(kvs.size());
  for (size_t t = 0; t < index; ++t) off += 8 + tensors[t].name.size() + 4 + 8 * tensors[t].dims.size() + 4 + 8;
  return off;
}

uint64_t RawGguf::infos_end() const { return tensor_info_offset(tensors.size()); }
uint64_t RawGguf::data_offset() const { return align_up(infos_end(), alignment); }

size_t RawGguf::kv_index(const std::string& key) const {
  for (size_t k = 0; k < kvs.size(); ++k) {
    if (kvs[k].key == key) return k;
  }
  require(false, "kv_index: no such key");
  return 0;
}

size_t RawGguf::tensor_index(const std::string& name) const {
  for (size_t t = 0; t < tensors.size(); ++t) {
    if (tensors[t].name == name) return t;
  }
  require(false, "tensor_index: no such tensor");
  return 0;
}

RawGguf split_gguf(std::span<const uint8_t> file) {
  RawGguf raw;
  Walker w{file};
  raw.magic.assign(reinterpret_cast<const char*>(file.data()), 4);
  w.pos = 4;
  raw.version = w.read<uint32_t>();
  uint64_t n_tensors = w.read<uint64_t>();
  uint64_t n_kv = w.read<uint64_t>();
  for (uint64_t k = 0; k < n_kv; ++k) {
    RawGguf::Kv kv;
    kv.key = w.read_string();
    uint64_t start = w.pos;
    uint32_t type = w.read<uint32_t>();
    w.skip_value(type);
    kv.value.assign(file.begin() + start, file.begin() + w.pos);
    if (kv.key == "general.alignment") {
      require(type == 4, "split_gguf: general.alignment is not u32");
      std::memcpy(&raw.alignment, kv.value.data() + 4, 4);
    }
    raw.kvs.push_back(std::move(kv));
  }
  for (uint64_t t = 0; t < n_tensors; ++t) {
    RawGguf::TensorInfo info;
    info.name = w.read_string();
    uint32_t n_dims = w.read<uint32_t>();
    for (uint32_t d = 0; d < n_dims; ++d) info.dims.push_back(w.read<uint64_t>());
    info.type = w.read<uint32_t>();
    info.offset = w.read<uint64_t>();
    raw.tensors.push_back(std::move(info));
  }
  uint64_t data_start = align_up(w.pos, raw.alignment);
  require(data_start <= file.size(), "split_gguf: data section past the end");
  raw.data.assign(file.begin() + data_start, file.end());
  return raw;
}

std::vector<uint8_t> raw_u32_value(uint32_t v) {
  std::vector<uint8_t> out;
  put<uint32_t>(out, 4);
  put<uint32_t>(out, v);
  return out;
}

std::vector<uint8_t> raw_u64_value(uint64_t v) {
  std::vector<uint8_t> out;
  put<uint32_t>(out, 10);
  put<uint64_t>(out, v);
  return out;
}

std::vector<uint8_t> raw_f32_value(float v) {
  std::vector<uint8_t> out;
  put<uint32_t>(out, 6);
  put<float>(out, v);
  return out;
}

std::vector<uint8_t> raw_string_value(const std::string& s) {
  std::vector<uint8_t> out;
  put<uint32_t>(out, 8);
  put_string(out, s);
  return out;
}

std::vector<uint8_t> raw_array_value(uint32_t elem_type, uint64_t count, const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> out;
  put<uint32_t>(out, 9);
  put<uint32_t>(out, elem_type);
  put<uint64_t>(out, count);
  size_t at = out.size();
  out.resize(at + payload.size());
  if (!payload.empty()) std::memcpy(out.data() + at, payload.data(), payload.size());
  return out;
}

std::vector<uint8_t> hostile_base_file() {
  GgufWriter w;
  GgufValue blob;  // first, and 200 bytes long: see the header comment
  blob.type = GgufType::kArray;
  blob.elem_type = GgufType::kUint8;
  for (int k = 0; k < 200; ++k) blob.ints.push_back(k);
  w.set("pocket.test.blob", blob);
  w.set_string("general.architecture", "llama");
  w.set_string("general.name", "hostile base");
  w.set_u32("llama.context_length", 128);
  w.set_u32("llama.embedding_length", 64);
  w.set_bool("pocket.test.flag", true);
  w.set_u64("pocket.test.big", uint64_t{1} << 40);
  w.set_string("tokenizer.ggml.model", "llama");
  w.set_string_array("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "\xe2\x96\x81" "a", "b", "\xc3\xa9",
                                               "\xe4\xb8\xad", "\xf0\x9f\x98\x80"});
  w.set_f32_array("tokenizer.ggml.scores", {0, 0, 0, -1, -2, -3, -4, -5});
  w.set_i32_array("tokenizer.ggml.token_type", {2, 3, 3, 1, 1, 1, 1, 1});
  GgufValue bools;
  bools.type = GgufType::kArray;
  bools.elem_type = GgufType::kBool;
  bools.ints = {1, 0, 1};
  w.set("pocket.test.bools", bools);
  GgufValue i64s;
  i64s.type = GgufType::kArray;
  i64s.elem_type = GgufType::kInt64;
  i64s.ints = {-1, 2, INT64_MAX};
  w.set("pocket.test.i64s", i64s);

  // token_embd.weight F32 [64, 8] (2048 bytes), blk.0.attn_q.weight Q4_0 [64, 2] (72 bytes, padded to 96),
  // output_norm.weight F16 [64] (128 bytes): data offsets 0, 2048, 2144; data section 2272 bytes.
  std::vector<uint8_t> f32(64 * 8 * 4);
  for (size_t k = 0; k < 64 * 8; ++k) {
    float v = std::sin(static_cast<float>(k)) * 0.5f;
    std::memcpy(&f32[k * 4], &v, 4);
  }
  std::vector<uint8_t> q4(4 * 18);
  for (size_t b = 0; b < 4; ++b) {
    uint16_t d = fp32_to_fp16(0.125f * static_cast<float>(b + 1));
    std::memcpy(&q4[b * 18], &d, 2);
    for (size_t j = 0; j < 16; ++j) q4[b * 18 + 2 + j] = static_cast<uint8_t>(b * 16 + j * 7);
  }
  std::vector<uint8_t> f16(64 * 2);
  for (size_t k = 0; k < 64; ++k) {
    uint16_t h = fp32_to_fp16(1.0f + static_cast<float>(k) / 64);
    std::memcpy(&f16[k * 2], &h, 2);
  }
  require(w.add_tensor("token_embd.weight", DType::kF32, {64, 8}, f32).ok(), "base: token_embd");
  require(w.add_tensor("blk.0.attn_q.weight", DType::kQ4_0, {64, 2}, q4).ok(), "base: attn_q");
  require(w.add_tensor("output_norm.weight", DType::kF16, {64}, f16).ok(), "base: output_norm");
  return w.to_bytes();
}

bool message_matches(const std::string& message, const std::string& expect) {
  if (expect.empty()) return true;
  size_t start = 0;
  while (true) {
    size_t bar = expect.find('|', start);
    std::string alt = expect.substr(start, bar == std::string::npos ? std::string::npos : bar - start);
    if (!alt.empty() && message.find(alt) != std::string::npos) return true;
    if (bar == std::string::npos) return false;
    start = bar + 1;
  }
}

bool write_corpus(const std::string& dir, std::string* error) {
  ::mkdir(dir.c_str(), 0755);  // may exist already
  auto write = [&](const std::string& name, const std::vector<uint8_t>& bytes) {
    std::string path = dir + "/" + name + ".gguf";
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
      if (error != nullptr) *error = "cannot write " + path;
      return false;
    }
    return true;
  };
  if (!write("base", hostile_base_file())) return false;
  for (const auto& c : hostile_corpus()) {
    if (!write(c.name, c.bytes)) return false;
  }
  return true;
}

}  // namespace pocket::testing
