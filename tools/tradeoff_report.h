// `pocket tradeoff`'s results: one row per model (the original first), printed as a table, written as JSON and
// as a hand-written SVG chart (KL divergence against file size, log scale; each point labelled with its type,
// bits per weight and prefill / decode speed).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace pocket::tradeoff {

struct Row {
  std::string type;          // "F32" (the original's type name) or a llama.cpp file type name
  std::string path;          // the GGUF measured
  uint64_t file_size = 0;    // bytes
  double bpw = 0;            // bits per weight: tensor data bits / elements
  double prefill_tps = 0;    // tokens/s, one batch of the prompt
  double decode_tps = 0;     // tokens/s, one token at a time
  double ppl = 0;
  double ppl_stderr = 0;
  double kld = 0;            // mean KLD against the original (0 for it)
  double kld_stderr = 0;
  double top1 = 1;           // top-1 agreement with the original (fraction)
  double delta_p_rms = 0;    // RMS Δp (fraction)
  bool original = false;
};

struct Settings {
  std::string model;
  std::string text;
  int64_t n_ctx = 0;
  int64_t n_chunks = 0;
  int threads = 0;
  int64_t prefill_tokens = 0;
  int64_t decode_tokens = 0;
};

std::string table(const std::vector<Row>& rows);
nlohmann::json to_json(const Settings& settings, const std::vector<Row>& rows);
std::string svg(const Settings& settings, const std::vector<Row>& rows);

// Writes `content` to `path`; an error names the file.
Status write_text(const std::string& path, const std::string& content);

}  // namespace pocket::tradeoff
