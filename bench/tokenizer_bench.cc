// Tokenizer throughput (bytes_per_second = MB/s of input text): ../shared/text/tinystory-eval.txt repeated to
// 1 MiB, encoded with the embedded tiny-stories vocabulary (SentencePiece, tok512) and with gpt-2's (byte-level
// BPE + PCRE2 pre-tokenizer); plus decoding the resulting ids.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include <benchmark/benchmark.h>

#include "base/shared_data.h"
#include "format/gguf.h"
#include "tokenizer/tokenizer.h"

namespace pocket {
namespace {

constexpr size_t kTextBytes = 1 << 20;

const std::string& bench_text() {
  static const std::string text = [] {
    std::ifstream in(shared_data_dir() + "/text/tinystory-eval.txt", std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    std::string story = ss.str();
    if (story.empty()) {
      std::fprintf(stderr, "tokenizer_bench: cannot read %s/text/tinystory-eval.txt\n", shared_data_dir().c_str());
      std::exit(2);
    }
    std::string out;
    while (out.size() < kTextBytes) out += story;
    out.resize(kTextBytes);  // the text is ASCII: any cut is a character boundary
    return out;
  }();
  return text;
}

const Tokenizer& tokenizer(const std::string& relative) {
  static std::vector<std::pair<std::string, std::unique_ptr<Tokenizer>>> cache;
  static std::vector<std::unique_ptr<GgufFile>> files;
  for (auto& [name, tok] : cache) {
    if (name == relative) return *tok;
  }
  auto file = GgufFile::open(shared_data_dir() + "/" + relative);
  if (!file.ok()) {
    std::fprintf(stderr, "tokenizer_bench: %s\n", file.status().message().c_str());
    std::exit(2);
  }
  files.push_back(std::make_unique<GgufFile>(std::move(file).value()));
  auto tok = Tokenizer::from_gguf(*files.back());
  if (!tok.ok()) {
    std::fprintf(stderr, "tokenizer_bench: %s\n", tok.status().message().c_str());
    std::exit(2);
  }
  cache.emplace_back(relative, std::make_unique<Tokenizer>(std::move(tok).value()));
  return *cache.back().second;
}

void BM_Encode(benchmark::State& state, const char* vocab) {
  const Tokenizer& tok = tokenizer(vocab);
  const std::string& text = bench_text();
  size_t n_tokens = 0;
  for (auto _ : state) {
    std::vector<int32_t> ids = tok.encode(text, false, false);
    n_tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["tokens"] = static_cast<double>(n_tokens);
}

void BM_Decode(benchmark::State& state, const char* vocab) {
  const Tokenizer& tok = tokenizer(vocab);
  const std::string& text = bench_text();
  std::vector<int32_t> ids = tok.encode(text, false, false);
  for (auto _ : state) {
    std::string out = tok.decode(ids);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

BENCHMARK_CAPTURE(BM_Encode, tiny_stories_spm, "models/tiny-stories/tiny-stories.gguf")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Encode, gpt2_bpe, "vocab/ggml-vocab-gpt-2.gguf")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Decode, tiny_stories_spm, "models/tiny-stories/tiny-stories.gguf")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Decode, gpt2_bpe, "vocab/ggml-vocab-gpt-2.gguf")->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace pocket

BENCHMARK_MAIN();
