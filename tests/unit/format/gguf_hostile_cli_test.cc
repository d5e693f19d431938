// `pocket info -m FILE` on every hostile file: exit code 2 and exactly one line on stderr, "pocket: ...",
// naming the file (CLI.md); the valid base file is accepted.
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "hostile_corpus.h"
#include "test_support.h"

namespace pocket {
namespace {

std::string write_temp(const std::string& dir, const std::string& name, const std::vector<uint8_t>& bytes) {
  std::string path = dir + "/" + name + ".gguf";
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return path;
}

class GgufHostileCli : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir_template[] = "/tmp/pocket-hostile-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
  }
  void TearDown() override {
    for (const auto& p : paths_) unlink(p.c_str());
    rmdir(dir_.c_str());
  }
  std::string write(const std::string& name, const std::vector<uint8_t>& bytes) {
    paths_.push_back(write_temp(dir_, name, bytes));
    return paths_.back();
  }
  std::string dir_;
  std::vector<std::string> paths_;
};

TEST_F(GgufHostileCli, BaseFileIsAccepted) {
  std::string path = write("base", testing::hostile_base_file());
  auto result = testing::run_command(testing::pocket_bin() + " info -m " + path);
  EXPECT_EQ(result.exit_code, 0) << result.err;
}

TEST_F(GgufHostileCli, EveryCaseExitsTwoWithOneLine) {
  for (const auto& c : testing::hostile_corpus()) {
    SCOPED_TRACE(c.name);
    std::string path = write(c.name, c.bytes);
    auto result = testing::run_command(testing::pocket_bin() + " info -m " + path);
    EXPECT_EQ(result.exit_code, 2) << result.err;
    EXPECT_EQ(result.err.rfind("pocket: ", 0), 0u) << result.err;
    ASSERT_FALSE(result.err.empty());
    EXPECT_EQ(result.err.find('\n'), result.err.size() - 1) << "not exactly one line: " << result.err;
    EXPECT_NE(result.err.find(path), std::string::npos) << "does not name the file: " << result.err;
    EXPECT_TRUE(testing::message_matches(result.err, c.expect)) << result.err;
  }
}

}  // namespace
}  // namespace pocket
