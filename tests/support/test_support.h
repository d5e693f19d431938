// Helpers shared by pocket's tests: where the shared reference data is, and running the pocket binary.
#pragma once

#include <string>

namespace pocket::testing {

// $POCKET_SHARED, else ../shared beside the source tree.
std::string shared_dir();
// The pocket executable under test ($POCKET_BIN, set by ctest).
std::string pocket_bin();

struct CommandResult {
  int exit_code = -1;   // the process's exit code; 128 + signal if it was killed by a signal
  std::string out;      // stdout bytes
  std::string err;      // stderr bytes
};
// Runs `command` through /bin/sh with `stdin_data` on its standard input.
CommandResult run_command(const std::string& command, const std::string& stdin_data = "");

// Reads a whole file (test fixtures); fails the current test if it cannot.
std::string read_file(const std::string& path);

}  // namespace pocket::testing
