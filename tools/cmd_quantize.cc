// `pocket quantize IN.gguf OUT.gguf TYPE [--pure] [--tensor-type PATTERN=TYPE]... [--threads N]
// [--allow-requantize]`: llama-quantize's job (recipes in src/quant/recipe.h). TYPE is a llama.cpp file type name
// (Q4_K_M, Q8_0, IQ4_NL, F16, ...). Progress on stderr (a bar on a terminal, one line per tensor otherwise).
// Refuses to overwrite the input; replaces an existing output (as llama-quantize does). Contract: CLI.md.
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "command.h"
#include "model_source.h"
#include "quant/quantize.h"

namespace pocket {
namespace {

constexpr int kBarWidth = 30;

double mib(uint64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

void print_progress(const quant::QuantizeProgress& p, bool tty) {
  if (tty) {
    const int filled = p.count > 0 ? p.index * kBarWidth / p.count : kBarWidth;
    fmt::print(stderr, "\r[{}{}] {:>4}/{:<4} {:<40.40}", std::string(filled, '#'), std::string(kBarWidth - filled, '.'),
               p.index, p.count, p.name);
    if (p.index == p.count) fmt::print(stderr, "\n");
  } else {
    fmt::print(stderr, "[{:>4}/{:>4}] {:<40} {:>6} -> {:<6} {:9.3f} MiB -> {:9.3f} MiB\n", p.index, p.count, p.name,
               p.from_type, p.to_type, mib(p.from_bytes), mib(p.to_bytes));
  }
  std::fflush(stderr);
}

int run_quantize(const quant::QuantizeOptions& opt) {
  const bool tty = ::isatty(STDERR_FILENO) == 1;
  auto summary = quant::quantize_model(opt, [tty](const quant::QuantizeProgress& p) { print_progress(p, tty); });
  if (!summary.ok()) {
    if (tty) fmt::print(stderr, "\n");
    return report_error(summary.status());
  }
  const double n = summary->n_elements > 0 ? static_cast<double>(summary->n_elements) : 1.0;
  fmt::print(stderr, "quantize: {} tensors ({} quantized{}), {:.2f} MiB ({:.2f} bpw) -> {:.2f} MiB ({:.2f} bpw), "
             "general.file_type = {}\n",
             summary->n_tensors, summary->n_quantized,
             summary->n_fallback > 0 ? fmt::format(", {} with a fallback type", summary->n_fallback) : "",
             mib(summary->input_bytes), summary->input_bytes * 8.0 / n, mib(summary->output_bytes),
             summary->output_bytes * 8.0 / n, summary->file_type);
  return 0;
}

CommandRegistration reg("quantize", "Quantize a GGUF model with llama.cpp's recipes",
                        [](CLI::App& app) -> std::function<int()> {
                          auto opt = std::make_shared<quant::QuantizeOptions>();
                          app.add_option("IN", opt->input, "input GGUF model")->required();
                          app.add_option("OUT", opt->output, "output GGUF file (never the input)")->required();
                          app.add_option("TYPE", opt->type,
                                         "llama.cpp file type: Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q2_K Q3_K_S Q3_K_M Q3_K_L "
                                         "Q4_K_S Q4_K_M Q5_K_S Q5_K_M Q6_K IQ4_NL IQ4_XS F16 BF16 F32")
                              ->required();
                          app.add_flag("--pure", opt->pure,
                                       "no mixture: every 2-d weight gets TYPE's tensor type (norms stay F32)");
                          app.add_option("--tensor-type", opt->tensor_types,
                                         "PATTERN=TYPE: tensors whose name matches the regex get that tensor type");
                          app.add_option("--threads,-t", opt->threads, "worker threads (default: all cores)");
                          app.add_flag("--allow-requantize", opt->allow_requantize,
                                       "accept already-quantized input tensors");
                          return [opt] { return run_quantize(*opt); };
                        });

}  // namespace
}  // namespace pocket
