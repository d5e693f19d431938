// A corpus of hostile GGUF files for the reader's tests and as fuzzing seeds.
//
// Every case starts from one valid file written by GgufWriter (hostile_base_file()), split into its parts
// (RawGguf), edited at the byte level (a length, a type id, a dimension, an offset...) and reassembled with
// correct counts and padding unless the case is about those. Each case names the thing the reader's error must
// mention, so a test can check that the error is not only clean but also useful.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace pocket::testing {

// A GGUF file as parts that can be edited independently. bytes() reassembles them: header, kvs, tensor infos,
// zero padding to `alignment`, data. A round trip split_gguf(f).bytes() == f holds for files from GgufWriter.
struct RawGguf {
  struct Kv {
    std::string key;             // raw key bytes (may be made invalid on purpose)
    std::vector<uint8_t> value;  // type u32 | value, exactly as in the file
  };
  struct TensorInfo {
    std::string name;
    std::vector<uint64_t> dims;  // ne0 first; n_dims = dims.size() unless n_dims_override
    uint32_t type = 0;
    uint64_t offset = 0;
    std::optional<uint32_t> n_dims_override;
  };

  std::string magic = "GGUF";
  uint32_t version = 3;
  std::optional<uint64_t> n_tensors_override;  // else tensors.size()
  std::optional<uint64_t> n_kv_override;       // else kvs.size()
  std::vector<Kv> kvs;
  std::vector<TensorInfo> tensors;
  uint32_t alignment = 32;     // padding before the data section
  std::vector<uint8_t> data;   // the data section

  std::vector<uint8_t> bytes() const;
  // Absolute offsets of the parts in bytes().
  uint64_t kv_offset(size_t index) const;            // start of kv `index` (its key length)
  uint64_t tensor_info_offset(size_t index) const;   // start of tensor info `index` (its name length)
  uint64_t infos_end() const;                        // end of the last tensor info
  uint64_t data_offset() const;                      // start of the data section
  // Index of a kv / tensor by key / name (the case builders only ask for ones that exist).
  size_t kv_index(const std::string& key) const;
  size_t tensor_index(const std::string& name) const;
};

// Splits a well-formed file (this is a trusted helper: it is only given files from GgufWriter).
RawGguf split_gguf(std::span<const uint8_t> file);

// Value encodings for RawGguf::Kv::value.
std::vector<uint8_t> raw_u32_value(uint32_t v);
std::vector<uint8_t> raw_u64_value(uint64_t v);
std::vector<uint8_t> raw_f32_value(float v);
std::vector<uint8_t> raw_string_value(const std::string& s);
// An array header (type 9 | elem type | count) followed by `payload` (the elements' bytes).
std::vector<uint8_t> raw_array_value(uint32_t elem_type, uint64_t count, const std::vector<uint8_t>& payload);

// The valid file every case is derived from: metadata of many types (including a 200-byte u8 array first, so
// every later part lies well past the reader's count plausibility checks) and F32, Q4_0 and F16 tensors.
std::vector<uint8_t> hostile_base_file();

struct HostileCase {
  std::string name;     // snake_case, unique; also the file name stem in the corpus directory
  // What the reader's message must contain: one of '|'-separated alternatives (case-sensitive), e.g. the key or
  // the tensor the problem is in. Empty: only "a clean bad-input error" is required.
  std::string expect;
  std::vector<uint8_t> bytes;
};

// Every hostile case (>= 30). Deterministic.
std::vector<HostileCase> hostile_corpus();

// True if `message` contains one of the '|'-separated alternatives in `expect` (or `expect` is empty).
bool message_matches(const std::string& message, const std::string& expect);

// Writes base.gguf and <case>.gguf for every case into `dir` (created if missing). Returns false on I/O error.
bool write_corpus(const std::string& dir, std::string* error);

}  // namespace pocket::testing
