// `pocket quantize` input checking: bad TYPE / --tensor-type are exit 2 naming the flag; the input is never
// overwritten (same path, hard link, symlink); a missing input is exit 2 and leaves no output behind.
#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "test_support.h"

namespace pocket {
namespace {

namespace fs = std::filesystem;

class QuantizeCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("pocket-quantize-cli-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    input_ = dir_ / "in.gguf";
    fs::copy_file(fs::path(testing::shared_dir()) / "reference" / "models" / "llama-gqa.gguf", input_,
                  fs::copy_options::overwrite_existing);
    original_ = testing::read_file(input_.string());
  }
  void TearDown() override { fs::remove_all(dir_); }

  testing::CommandResult quantize(const std::string& args) {
    return testing::run_command(testing::pocket_bin() + " quantize " + args);
  }
  void expect_input_untouched() { EXPECT_TRUE(testing::read_file(input_.string()) == original_) << "input changed"; }

  fs::path dir_;
  fs::path input_;
  std::string original_;
};

TEST_F(QuantizeCli, BadTypeIsExit2NamingTheArgument) {
  const fs::path out = dir_ / "out.gguf";
  auto r = quantize(input_.string() + " " + out.string() + " Q7_K");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("TYPE 'Q7_K'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Q4_K_M"), std::string::npos) << "lists the valid types: " << r.err;
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(QuantizeCli, BadTensorTypeIsExit2NamingTheFlag) {
  const fs::path out = dir_ / "out.gguf";
  for (const char* spec : {"attn_q=Q9_9", "attn_q", "'([=Q8_0'"}) {
    auto r = quantize(input_.string() + " " + out.string() + " Q4_K_M --tensor-type " + spec);
    EXPECT_EQ(r.exit_code, 2) << spec << ": " << r.err;
    EXPECT_NE(r.err.find("--tensor-type"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(out));
  }
  auto r = quantize(input_.string() + " " + out.string() + " Q4_K_M --threads many");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--threads"), std::string::npos) << r.err;
}

TEST_F(QuantizeCli, RefusesToOverwriteTheInput) {
  auto r = quantize(input_.string() + " " + input_.string() + " Q8_0");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("input"), std::string::npos) << r.err;
  expect_input_untouched();

  const fs::path link = dir_ / "hard.gguf";
  fs::create_hard_link(input_, link);
  r = quantize(input_.string() + " " + link.string() + " Q8_0");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  expect_input_untouched();

  const fs::path sym = dir_ / "sym.gguf";
  fs::create_symlink(input_, sym);
  r = quantize(sym.string() + " " + input_.string() + " Q4_0");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  expect_input_untouched();

  // Through a different spelling of the same path.
  r = quantize(input_.string() + " " + (dir_ / "." / "in.gguf").string() + " Q4_0");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  expect_input_untouched();
}

TEST_F(QuantizeCli, MissingInputIsExit2) {
  const fs::path out = dir_ / "out.gguf";
  auto r = quantize((dir_ / "nope.gguf").string() + " " + out.string() + " Q8_0");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("nope.gguf"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(QuantizeCli, WritesAndReplacesAnOutput) {
  const fs::path out = dir_ / "out.gguf";
  auto r = quantize(input_.string() + " " + out.string() + " Q8_0 --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("general.file_type = 7"), std::string::npos) << r.err;
  const auto q8_size = fs::file_size(out);
  r = quantize(input_.string() + " " + out.string() + " Q4_K_M");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LT(fs::file_size(out), q8_size) << "replaced by the smaller Q4_K_M file";
  for (const auto& entry : fs::directory_iterator(dir_)) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << "temporary file left behind";
  }
  expect_input_untouched();
}

}  // namespace
}  // namespace pocket
