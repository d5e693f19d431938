#include "test_support.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "base/shared_data.h"

namespace pocket::testing {

std::string shared_dir() { return pocket::shared_data_dir(); }

std::string pocket_bin() {
  const char* env = std::getenv("POCKET_BIN");
  return env != nullptr ? env : "pocket";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

CommandResult run_command(const std::string& command, const std::string& stdin_data) {
  char in_path[] = "/tmp/pocket-test-in-XXXXXX";
  char out_path[] = "/tmp/pocket-test-out-XXXXXX";
  char err_path[] = "/tmp/pocket-test-err-XXXXXX";
  int fds[3] = {mkstemp(in_path), mkstemp(out_path), mkstemp(err_path)};
  for (int fd : fds) close(fd);
  {
    std::ofstream in(in_path, std::ios::binary);
    in << stdin_data;
  }
  std::string full = "(" + command + ") <" + in_path + " >" + out_path + " 2>" + err_path;
  int status = std::system(full.c_str());
  CommandResult result;
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.exit_code = 128 + WTERMSIG(status);
  }
  result.out = read_file(out_path);
  result.err = read_file(err_path);
  unlink(in_path);
  unlink(out_path);
  unlink(err_path);
  return result;
}

}  // namespace pocket::testing
