#include <filesystem>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "embedded_model.h"
#include "format/gguf.h"
#include "format/gguf_writer.h"
#include "test_support.h"

namespace {

using pocket::testing::pocket_bin;
using pocket::testing::run_command;

TEST(RunCli, TokenIdOutOfRangeIsExit2) {
  auto r = run_command(fmt::format("'{}' logits --tokens '1 9999'", pocket_bin()));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("token id 9999 (at index 1) is out of range: the vocabulary has 512 tokens"),
            std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
}

TEST(RunCli, MalformedTokensIsExit2) {
  auto r = run_command(fmt::format("'{}' logits --tokens '1 abc'", pocket_bin()));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--tokens: 'abc' is not a token id"), std::string::npos) << r.err;
}

TEST(RunCli, PromptLongerThanContextIsExit2) {
  auto r = run_command(fmt::format("'{}' run -p 'Once upon a time there was a girl' --ctx 4 -n 4", pocket_bin()));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("does not fit the context of 4"), std::string::npos) << r.err;
  auto l = run_command(fmt::format("'{}' logits --tokens '1 2 3 4 5' --ctx 4", pocket_bin()));
  EXPECT_EQ(l.exit_code, 2) << l.err;
  EXPECT_NE(l.err.find("more than the context size 4"), std::string::npos) << l.err;
}

// A KV cache larger than any address space (10^14 positions) is a clear error and exit 1, not a crash.
TEST(RunCli, ContextTooLargeForMemoryIsExit1) {
  for (const char* cmd : {"run -p hi -n 1", "serve --port 0"}) {
    auto r = run_command(fmt::format("'{}' {} --ctx 100000000000000 --quiet", pocket_bin(), cmd));
    EXPECT_EQ(r.exit_code, 1) << cmd << ": " << r.err;
    EXPECT_NE(r.err.find("out of memory"), std::string::npos) << cmd << ": " << r.err;
  }
}

TEST(RunCli, BadFlagValuesAreExit2) {
  auto r = run_command(fmt::format("'{}' run -p hi --kv-type f8 -n 1", pocket_bin()));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--kv-type: 'f8'"), std::string::npos) << r.err;
}

TEST(RunCli, ModelWithMissingTensorIsExit2NamingIt) {
  auto base = pocket::GgufFile::from_bytes(pocket::embedded_model_bytes(), "embedded");
  ASSERT_TRUE(base.ok());
  pocket::GgufWriter w;
  w.copy_metadata(*base);
  for (const auto& t : base->tensors()) {
    if (t.name == "blk.1.ffn_up.weight") continue;
    ASSERT_TRUE(w.add_tensor(t.name, t.dtype->id, t.shape, base->tensor_bytes(t)).ok());
  }
  const std::string path =
      (std::filesystem::temp_directory_path() / fmt::format("pocket-missing-{}.gguf", ::getpid())).string();
  ASSERT_TRUE(w.write(path).ok());
  for (const char* cmd : {"logits --tokens '1 2'", "run -p hi -n 2"}) {
    auto r = run_command(fmt::format("'{}' {} -m '{}'", pocket_bin(), cmd, path));
    EXPECT_EQ(r.exit_code, 2) << cmd << ": " << r.err;
    EXPECT_NE(r.err.find("tensor 'blk.1.ffn_up.weight' is missing"), std::string::npos) << r.err;
  }
  std::filesystem::remove(path);
}

TEST(RunCli, CtrlCStopsGenerationAndStillPrintsStats) {
  // A long generation interrupted after a moment: exit 0, the stats line says it was cancelled.
  auto r = run_command(fmt::format("timeout --preserve-status -s INT 2 '{}' run -p 'Once upon a time' -n 100000 --ctx 30000 "
                                   "--seed 1 --threads 1", pocket_bin()));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("stop: cancelled"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.rfind("Once upon a time", 0), 0u);
  EXPECT_EQ(r.out.back(), '\n');
}

TEST(RunCli, EmbeddedModelGreedyStory) {
  auto r = run_command(fmt::format("'{}' run -p 'Once upon a time' -n 8 --temp 0 --quiet", pocket_bin()));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Once upon a time there was a little girl w\n");
  EXPECT_TRUE(r.err.empty()) << r.err;
  auto n = run_command(fmt::format("'{}' run -p 'Once upon a time' -n 8 --temp 0 --no-echo", pocket_bin()));
  EXPECT_EQ(n.out, " there was a little girl w\n");
  EXPECT_NE(n.err.find("tok/s"), std::string::npos);
  EXPECT_NE(n.err.find("time to first token"), std::string::npos);
}

}  // namespace
