// `pocket quantize`: rewrites a GGUF model with its weights quantized by a llama.cpp file-type recipe. Every
// metadata key is kept (tokenizer, chat template, ...); general.file_type is set to the llama.cpp ftype value and
// general.quantization_version to 2; tensors are written in llama.cpp's order. The output goes through a temporary
// file renamed into place; the input is never overwritten (same path or same file through another name).
// An existing output file is replaced, as llama-quantize does.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"

namespace pocket::quant {

struct QuantizeOptions {
  std::string input;
  std::string output;
  std::string type;                      // a llama.cpp ftype name: Q4_K_M, Q8_0, ...
  bool pure = false;                     // no mixture: every quantizable tensor gets the type's default
  std::vector<std::string> tensor_types; // "PATTERN=TYPE" overrides, first match wins
  bool allow_requantize = false;         // accept already-quantized input tensors (dequantized first)
  int threads = 0;                       // <= 0: hardware concurrency
};

// One tensor done: index (1-based) of n, its name, old and new type names and byte sizes.
struct QuantizeProgress {
  int index = 0;
  int count = 0;
  std::string name;
  std::string from_type;
  std::string to_type;
  uint64_t from_bytes = 0;
  uint64_t to_bytes = 0;
};
using ProgressFn = std::function<void(const QuantizeProgress&)>;

struct QuantizeSummary {
  uint64_t input_bytes = 0;   // tensor data
  uint64_t output_bytes = 0;
  uint64_t n_elements = 0;
  int n_tensors = 0;
  int n_quantized = 0;
  int n_fallback = 0;
  uint32_t file_type = 0;     // general.file_type written
};

// Bad TYPE names, bad overrides, input == output, malformed input: bad input (exit 2); I/O: failure (exit 1).
Result<QuantizeSummary> quantize_model(const QuantizeOptions& options, const ProgressFn& progress = nullptr);

}  // namespace pocket::quant
