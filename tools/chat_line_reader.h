// Reading the user's lines for `pocket chat`: with libedit (line editing, history) when stdin is a terminal,
// plain line reading otherwise (piped stdin: each line is one turn).
#pragma once

#include <atomic>
#include <memory>
#include <string>

namespace pocket {

class LineReader {
 public:
  enum class Result { kLine, kEndOfInput, kInterrupted };

  // `interrupted` is the flag the SIGINT handler sets; the handler must be installed without SA_RESTART so that
  // a blocked read returns. A terminal reader returns kInterrupted (discarding the partial line) when it is set.
  static std::unique_ptr<LineReader> create(bool terminal, const std::atomic<bool>* interrupted);
  virtual ~LineReader() = default;

  // The next line without its line ending. `prompt` is shown first (terminal only).
  virtual Result read(const std::string& prompt, std::string& line) = 0;
  // Remembers a line for history recall (Up arrow); a no-op without a terminal.
  virtual void add_history(const std::string& line) { (void)line; }
};

}  // namespace pocket
