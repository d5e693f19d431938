// gguf_corpus_writer OUTDIR: writes the valid base file and every hostile GGUF case to OUTDIR (seeds for
// fuzz_gguf: `fuzz_gguf -max_total_time=60 OUTDIR`).
#include <cstdio>
#include <string>

#include "hostile_corpus.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: gguf_corpus_writer OUTDIR\n");
    return 2;
  }
  std::string error;
  if (!pocket::testing::write_corpus(argv[1], &error)) {
    std::fprintf(stderr, "gguf_corpus_writer: %s\n", error.c_str());
    return 1;
  }
  std::printf("wrote %zu files to %s\n", pocket::testing::hostile_corpus().size() + 1, argv[1]);
  return 0;
}
