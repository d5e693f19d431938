// The hostile cases: each derives one broken file from hostile_base_file(). See hostile_corpus.h.
#include <array>
#include <cstring>
#include <functional>

#include "hostile_corpus.h"

namespace pocket::testing {
namespace {

constexpr uint64_t kU64Max = ~uint64_t{0};

// GGUF value type ids used below (gguf.h GgufType).
constexpr uint32_t kTypeU8 = 0, kTypeI32 = 5, kTypeF32 = 6, kTypeBool = 7, kTypeString = 8, kTypeArray = 9;

template <typename T>
void poke(std::vector<uint8_t>& bytes, uint64_t at, T v) {
  std::memcpy(bytes.data() + at, &v, sizeof(T));
}

class CaseList {
 public:
  CaseList() : base_(hostile_base_file()), raw_(split_gguf(base_)) {}

  const std::vector<uint8_t>& base() const { return base_; }
  const RawGguf& raw() const { return raw_; }

  void add(std::string name, std::string expect, std::vector<uint8_t> bytes) {
    cases_.push_back(HostileCase{std::move(name), std::move(expect), std::move(bytes)});
  }
  // The base file cut to its first `size` bytes.
  void cut(std::string name, std::string expect, uint64_t size) {
    add(std::move(name), std::move(expect), {base_.begin(), base_.begin() + static_cast<std::ptrdiff_t>(size)});
  }
  // The base file with a structural edit, reassembled (counts and padding follow the edit).
  void edit(std::string name, std::string expect, const std::function<void(RawGguf&)>& fn) {
    RawGguf r = raw_;
    fn(r);
    add(std::move(name), std::move(expect), r.bytes());
  }
  // The base file with raw bytes overwritten at `at`.
  template <typename T>
  void patch(std::string name, std::string expect, uint64_t at, T v) {
    std::vector<uint8_t> b = base_;
    poke(b, at, v);
    add(std::move(name), std::move(expect), std::move(b));
  }

  // Offsets inside the base file.
  uint64_t kv(const std::string& key) const { return raw_.kv_offset(raw_.kv_index(key)); }
  uint64_t kv_value(const std::string& key) const {  // the value's type u32
    return kv(key) + 8 + key.size();
  }
  uint64_t info(const std::string& name) const { return raw_.tensor_info_offset(raw_.tensor_index(name)); }

  std::vector<HostileCase> take() { return std::move(cases_); }

 private:
  std::vector<uint8_t> base_;
  RawGguf raw_;
  std::vector<HostileCase> cases_;
};

void add_truncations(CaseList& c) {
  const std::string kTrunc = "truncated";
  c.cut("truncated_empty", kTrunc, 0);
  c.cut("truncated_in_magic", kTrunc, 2);
  c.cut("truncated_in_version", kTrunc, 6);
  c.cut("truncated_in_tensor_count", kTrunc, 12);
  c.cut("truncated_in_kv_count", kTrunc, 20);
  c.cut("truncated_after_header", "truncated|metadata count", 24);
  // Inside the first kv (a 200-byte u8 array): too early for the count checks to pass, so either error is right.
  c.cut("truncated_in_u8_array", "pocket.test.blob|metadata count|truncated", c.kv("pocket.test.blob") + 60);
  c.cut("truncated_in_kv_key_length", "metadata entry", c.kv("general.name") + 4);
  c.cut("truncated_in_kv_key", "metadata entry", c.kv("general.name") + 8 + 5);
  c.cut("truncated_in_kv_type", "general.name", c.kv_value("general.name") + 2);
  c.cut("truncated_in_kv_string_length", "general.name", c.kv_value("general.name") + 4 + 3);
  c.cut("truncated_in_kv_string_value", "general.name", c.kv_value("general.name") + 4 + 8 + 3);
  c.cut("truncated_in_kv_scalar_value", "llama.context_length", c.kv_value("llama.context_length") + 4 + 2);
  c.cut("truncated_in_kv_u64_value", "pocket.test.big", c.kv_value("pocket.test.big") + 4 + 5);
  c.cut("truncated_in_array_elem_type", "tokenizer.ggml.tokens", c.kv_value("tokenizer.ggml.tokens") + 6);
  c.cut("truncated_in_array_count", "tokenizer.ggml.tokens", c.kv_value("tokenizer.ggml.tokens") + 12);
  c.cut("truncated_in_string_array", "tokenizer.ggml.tokens", c.kv_value("tokenizer.ggml.tokens") + 16 + 30);
  c.cut("truncated_in_f32_array", "tokenizer.ggml.scores", c.kv_value("tokenizer.ggml.scores") + 16 + 10);
  c.cut("truncated_in_i64_array", "pocket.test.i64s", c.kv_value("pocket.test.i64s") + 16 + 20);
  c.cut("truncated_in_tensor_name_length", "tensor 1", c.info("blk.0.attn_q.weight") + 3);
  c.cut("truncated_in_tensor_name", "tensor 1", c.info("blk.0.attn_q.weight") + 8 + 5);
  uint64_t q_dims = c.info("blk.0.attn_q.weight") + 8 + std::strlen("blk.0.attn_q.weight");
  c.cut("truncated_in_tensor_n_dims", "blk.0.attn_q.weight", q_dims + 2);
  c.cut("truncated_in_tensor_dims", "blk.0.attn_q.weight", q_dims + 4 + 8 + 3);
  c.cut("truncated_in_tensor_type", "blk.0.attn_q.weight", q_dims + 4 + 16 + 1);
  c.cut("truncated_in_tensor_offset", "blk.0.attn_q.weight", q_dims + 4 + 16 + 4 + 7);
  const RawGguf& r = c.raw();
  c.cut("truncated_in_padding", "data section", r.infos_end() + 1);
  c.cut("truncated_at_data_start", "token_embd.weight", r.data_offset());
  c.cut("truncated_in_first_tensor", "token_embd.weight", r.data_offset() + 1000);
  c.cut("truncated_in_last_tensor", "output_norm.weight", r.data_offset() + 2144 + 64);
  c.cut("truncated_last_byte", "output_norm.weight", c.base().size() - 1);
}

void add_header_cases(CaseList& c) {
  c.patch("bad_magic", "GGUF", 0, std::array<char, 4>{'G', 'G', 'U', 'X'});
  c.patch("bad_magic_lowercase", "GGUF", 0, std::array<char, 4>{'g', 'g', 'u', 'f'});
  c.patch("bad_magic_byte_swapped", "GGUF", 0, std::array<char, 4>{'F', 'U', 'G', 'G'});
  c.patch("version_0", "version", 4, uint32_t{0});
  c.patch("version_1", "version", 4, uint32_t{1});
  c.patch("version_4", "version", 4, uint32_t{4});
  c.patch("version_max", "version", 4, uint32_t{0xffffffff});
  c.patch("version_big_endian_3", "version", 4, uint32_t{0x03000000});
  c.patch("huge_tensor_count", "tensor count", 8, uint64_t{1} << 63);
  c.patch("max_tensor_count", "tensor count", 8, kU64Max);
  c.patch("huge_kv_count", "metadata count", 16, kU64Max);
  c.patch("kv_count_2_pow_32", "metadata count", 16, uint64_t{1} << 32);
  // Counts off by one: the reader then parses other parts as kvs / tensor infos; any clean error will do.
  c.edit("kv_count_one_too_many", "", [](RawGguf& r) { r.n_kv_override = r.kvs.size() + 1; });
  c.edit("kv_count_one_too_few", "", [](RawGguf& r) { r.n_kv_override = r.kvs.size() - 1; });
  c.edit("tensor_count_one_too_many", "", [](RawGguf& r) { r.n_tensors_override = r.tensors.size() + 1; });
}

void add_length_cases(CaseList& c) {
  c.patch("key_length_past_eof", "metadata entry", c.kv("general.name"), uint64_t{1} << 20);
  c.patch("key_length_near_2_pow_64", "metadata entry", c.kv("general.name"), kU64Max - 7);
  uint64_t name_len = c.kv_value("general.name") + 4;
  c.patch("string_length_past_eof", "general.name", name_len, uint64_t{1} << 20);
  c.patch("string_length_near_2_pow_64", "general.name", name_len, kU64Max - 7);
  c.patch("string_length_max", "general.name", name_len, kU64Max);
  uint64_t blob_count = c.kv_value("pocket.test.blob") + 8;
  c.patch("array_length_past_eof", "pocket.test.blob", blob_count, uint64_t{1} << 20);
  c.patch("array_length_max", "tokenizer.ggml.tokens", c.kv_value("tokenizer.ggml.tokens") + 8, kU64Max);
  // count * 4 and count * 8 wrap around to small numbers.
  c.patch("array_length_wraps_f32", "tokenizer.ggml.scores", c.kv_value("tokenizer.ggml.scores") + 8,
          (uint64_t{1} << 62) + 8);
  c.patch("array_length_wraps_i64", "pocket.test.i64s", c.kv_value("pocket.test.i64s") + 8,
          (uint64_t{1} << 61) + 3);
  c.patch("string_array_count_wraps", "tokenizer.ggml.tokens", c.kv_value("tokenizer.ggml.tokens") + 8,
          (uint64_t{1} << 61) + 8);
  c.patch("string_array_element_length_past_eof", "tokenizer.ggml.tokens",
          c.kv_value("tokenizer.ggml.tokens") + 16, uint64_t{1} << 32);
  c.patch("string_array_element_length_max", "tokenizer.ggml.tokens", c.kv_value("tokenizer.ggml.tokens") + 16,
          kU64Max);
}

void add_kv_cases(CaseList& c) {
  auto set_value = [](const std::string& key, std::vector<uint8_t> value) {
    return [key, value](RawGguf& r) { r.kvs[r.kv_index(key)].value = value; };
  };
  auto append_kv = [](const std::string& key, std::vector<uint8_t> value) {
    return [key, value](RawGguf& r) { r.kvs.push_back({key, value}); };
  };
  std::vector<uint8_t> inner_array = {kTypeU8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 42};  // [u8: 42]
  const std::string kNested = "pocket.test.nested";
  c.edit("nested_array", kNested, append_kv(kNested, raw_array_value(kTypeArray, 1, inner_array)));
  c.edit("nested_array_empty", kNested, append_kv(kNested, raw_array_value(kTypeArray, 0, {})));
  c.patch("unknown_kv_type_13", "pocket.test.flag", c.kv_value("pocket.test.flag"), uint32_t{13});
  c.patch("unknown_kv_type_max", "pocket.test.flag", c.kv_value("pocket.test.flag"), uint32_t{0xffffffff});
  c.patch("unknown_array_elem_type", "pocket.test.blob", c.kv_value("pocket.test.blob") + 4, uint32_t{13});
  c.edit("duplicate_key", "general.name", append_kv("general.name", raw_string_value("again")));
  c.edit("empty_key", "empty key", [](RawGguf& r) { r.kvs[r.kv_index("pocket.test.flag")].key = ""; });
  c.edit("key_with_nul", "NUL", [](RawGguf& r) {
    r.kvs[r.kv_index("pocket.test.flag")].key = std::string("pocket.test\0flag", 16);
  });
  c.edit("key_too_long", "65536", [](RawGguf& r) { r.kvs[r.kv_index("pocket.test.flag")].key.assign(65536, 'k'); });
  c.edit("key_invalid_utf8", "UTF-8", [](RawGguf& r) { r.kvs[r.kv_index("pocket.test.flag")].key = "pocket.\xff"; });
  c.edit("key_overlong_utf8", "UTF-8", [](RawGguf& r) {
    r.kvs[r.kv_index("pocket.test.flag")].key = "pocket\xc0\xae" "flag";
  });
  c.edit("string_invalid_utf8", "general.name", set_value("general.name", raw_string_value("bad \xc3\x28 name")));
  c.edit("string_surrogate_utf8", "general.name", set_value("general.name", raw_string_value("\xed\xa0\x80")));
  c.edit("string_truncated_utf8", "general.name", set_value("general.name", raw_string_value("end \xe4\xb8")));
  c.edit("token_invalid_utf8", "tokenizer.ggml.tokens", [](RawGguf& r) {
    // Element 4 of the tokens array is "b"; its byte becomes 0xff.
    auto& v = r.kvs[r.kv_index("tokenizer.ggml.tokens")].value;
    uint64_t at = 16;
    for (int e = 0; e < 4; ++e) {
      uint64_t len;
      std::memcpy(&len, v.data() + at, 8);
      at += 8 + len;
    }
    v[at + 8] = 0xff;
  });
  c.patch("bool_byte_2", "pocket.test.flag", c.kv_value("pocket.test.flag") + 4, uint8_t{2});
  c.patch("bool_array_byte_255", "pocket.test.bools", c.kv_value("pocket.test.bools") + 16 + 1, uint8_t{255});
}

void add_known_key_cases(CaseList& c) {
  auto append_kv = [](const std::string& key, std::vector<uint8_t> value) {
    return [key, value](RawGguf& r) { r.kvs.push_back({key, value}); };
  };
  auto set_value = [](const std::string& key, std::vector<uint8_t> value) {
    return [key, value](RawGguf& r) { r.kvs[r.kv_index(key)].value = value; };
  };
  const std::string kAlign = "general.alignment";
  c.edit("alignment_u64", kAlign, append_kv(kAlign, raw_u64_value(32)));
  c.edit("alignment_string", kAlign, append_kv(kAlign, raw_string_value("32")));
  c.edit("alignment_not_power_of_two", kAlign, append_kv(kAlign, raw_u32_value(48)));
  c.edit("alignment_zero", kAlign, append_kv(kAlign, raw_u32_value(0)));
  // A valid alignment of 64 under which output_norm.weight's offset 2144 is misaligned.
  c.edit("alignment_64_misaligns_offset", "output_norm.weight", [](RawGguf& r) {
    r.kvs.push_back({"general.alignment", raw_u32_value(64)});
    r.alignment = 64;
  });
  // A valid power of two so large that the tensors' offsets are misaligned and the data section is past the end.
  c.edit("alignment_2_pow_31", "blk.0.attn_q.weight|data section", append_kv(kAlign, raw_u32_value(1u << 31)));
  c.edit("architecture_u32", "general.architecture", set_value("general.architecture", raw_u32_value(7)));
  c.edit("architecture_string_array", "general.architecture",
         set_value("general.architecture", raw_array_value(kTypeString, 0, {})));
  c.edit("context_length_f32", "llama.context_length", set_value("llama.context_length", raw_f32_value(128)));
  c.edit("context_length_string", "llama.context_length",
         set_value("llama.context_length", raw_string_value("128")));
  c.edit("tokens_i32_array", "tokenizer.ggml.tokens",
         set_value("tokenizer.ggml.tokens", raw_array_value(kTypeI32, 2, {1, 0, 0, 0, 2, 0, 0, 0})));
  c.edit("tokens_string", "tokenizer.ggml.tokens", set_value("tokenizer.ggml.tokens", raw_string_value("a b")));
  c.edit("scores_string_array", "tokenizer.ggml.scores",
         set_value("tokenizer.ggml.scores", raw_array_value(kTypeString, 1, {1, 0, 0, 0, 0, 0, 0, 0, 'x'})));
  c.edit("token_type_f32_array", "tokenizer.ggml.token_type",
         set_value("tokenizer.ggml.token_type", raw_array_value(kTypeF32, 1, {0, 0, 0x80, 0x3f})));
  c.edit("context_length_bool", "llama.context_length",
         set_value("llama.context_length", {kTypeBool, 0, 0, 0, 1}));
  c.edit("merges_u32_array", "tokenizer.ggml.merges",
         append_kv("tokenizer.ggml.merges", raw_array_value(4, 1, {1, 0, 0, 0})));
  c.edit("tokenizer_pre_u32", "tokenizer.ggml.pre", append_kv("tokenizer.ggml.pre", raw_u32_value(1)));
  c.edit("chat_template_string_array", "tokenizer.chat_template",
         append_kv("tokenizer.chat_template", raw_array_value(kTypeString, 0, {})));
  c.edit("tokenizer_model_bool", "tokenizer.ggml.model", set_value("tokenizer.ggml.model", {kTypeBool, 0, 0, 0, 1}));
}

void add_tensor_cases(CaseList& c) {
  auto tensor = [](const std::string& name, std::function<void(RawGguf::TensorInfo&)> fn) {
    return [name, fn](RawGguf& r) { fn(r.tensors[r.tensor_index(name)]); };
  };
  const std::string q = "blk.0.attn_q.weight";
  const std::string norm = "output_norm.weight";
  c.edit("unknown_tensor_type_4", q, tensor(q, [](auto& t) { t.type = 4; }));  // Q4_2, removed from ggml
  c.edit("unknown_tensor_type_max", q, tensor(q, [](auto& t) { t.type = 0xffffffff; }));
  c.edit("n_dims_0", q, tensor(q, [](auto& t) { t.dims.clear(); }));
  c.edit("n_dims_5", q, tensor(q, [](auto& t) { t.dims = {64, 2, 1, 1, 1}; }));
  c.edit("n_dims_max", q, tensor(q, [](auto& t) { t.n_dims_override = 0xffffffff; }));
  c.edit("zero_dim", q, tensor(q, [](auto& t) { t.dims[1] = 0; }));
  c.edit("zero_ne0", q, tensor(q, [](auto& t) { t.dims[0] = 0; }));
  c.edit("dim_above_int64_max", q, tensor(q, [](auto& t) { t.dims[1] = uint64_t{1} << 63; }));
  c.edit("dims_product_overflows", norm,
         tensor(norm, [](auto& t) { t.dims = {uint64_t{1} << 32, uint64_t{1} << 32, 2}; }));
  c.edit("dims_product_above_int64_max", norm,
         tensor(norm, [](auto& t) { t.dims = {uint64_t{1} << 32, uint64_t{1} << 31}; }));
  // F16: 2^62 elements * 2 bytes = 2^63 bytes, far past the end; F32 [2^31, 2^31] * 4 bytes wraps to 0.
  c.edit("byte_size_past_eof", norm, tensor(norm, [](auto& t) { t.dims = {uint64_t{1} << 31, uint64_t{1} << 31}; }));
  c.edit("byte_size_wraps", "token_embd.weight",
         tensor("token_embd.weight", [](auto& t) { t.dims = {uint64_t{1} << 31, uint64_t{1} << 31}; }));
  c.edit("q4_0_row_not_block_multiple", q, tensor(q, [](auto& t) { t.dims = {20, 2}; }));
  c.edit("misaligned_offset", q, tensor(q, [](auto& t) { t.offset += 1; }));
  c.edit("misaligned_offset_by_16", norm, tensor(norm, [](auto& t) { t.offset += 16; }));
  c.edit("overlapping_tensors", "overlap", tensor(q, [](auto& t) { t.offset = 1024; }));
  c.edit("identical_offsets", "overlap", [](RawGguf& r) {
    r.tensors[2].offset = r.tensors[1].offset;
  });
  c.edit("offset_past_eof", norm, tensor(norm, [](auto& t) { t.offset = 4096; }));
  c.edit("offset_plus_size_wraps", norm, tensor(norm, [](auto& t) { t.offset = ~uint64_t{31}; }));
  c.edit("offset_2_pow_63", norm, tensor(norm, [](auto& t) { t.offset = uint64_t{1} << 63; }));
  c.edit("duplicate_tensor_name", "token_embd.weight", tensor(norm, [](auto& t) { t.name = "token_embd.weight"; }));
  c.edit("tensor_name_too_long", "65", tensor(q, [](auto& t) { t.name.assign(65, 'n'); }));
  c.edit("tensor_name_empty", "tensor 1", tensor(q, [](auto& t) { t.name.clear(); }));
  c.edit("tensor_name_invalid_utf8", "tensor 1", tensor(q, [](auto& t) { t.name = "blk.0.\xff"; }));
  c.edit("tensor_name_with_nul", "tensor 1", tensor(q, [](auto& t) { t.name = std::string("blk\0q", 5); }));
  c.edit("data_section_missing", "token_embd.weight", [](RawGguf& r) { r.data.clear(); });
}

}  // namespace

std::vector<HostileCase> hostile_corpus() {
  CaseList c;
  add_truncations(c);
  add_header_cases(c);
  add_length_cases(c);
  add_kv_cases(c);
  add_known_key_cases(c);
  add_tensor_cases(c);
  return c.take();
}

}  // namespace pocket::testing
