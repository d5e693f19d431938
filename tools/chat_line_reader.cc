#include "chat_line_reader.h"

#include <cerrno>
#include <clocale>
#include <cstdio>
#include <cwchar>

#include <histedit.h>
#include <unistd.h>

namespace pocket {
namespace {

// Piped input: buffered reads of fd 0; a read interrupted by a signal is retried (Ctrl-C only stops replies).
class PlainLineReader : public LineReader {
 public:
  Result read(const std::string& /*prompt*/, std::string& line) override {
    line.clear();
    for (;;) {
      if (pos_ == end_) {
        if (eof_) return line.empty() ? Result::kEndOfInput : finish(line);
        ssize_t n = ::read(STDIN_FILENO, buf_, sizeof(buf_));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          eof_ = true;
          continue;
        }
        pos_ = 0;
        end_ = static_cast<size_t>(n);
      }
      const char c = buf_[pos_++];
      if (c == '\n') return finish(line);
      line.push_back(c);
    }
  }

 private:
  static Result finish(std::string& line) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return Result::kLine;
  }

  char buf_[4096];
  size_t pos_ = 0;
  size_t end_ = 0;
  bool eof_ = false;
};

// A terminal: libedit with emacs key bindings and in-memory history. libedit's own signal handling is off
// (EL_SIGNAL 0) and characters come from read_char() below, so that Ctrl-C at the prompt returns at once.
class EditLineReader : public LineReader {
 public:
  explicit EditLineReader(const std::atomic<bool>* interrupted) : interrupted_(interrupted) {
    std::setlocale(LC_CTYPE, "");  // multibyte (UTF-8) input and display
    el_ = el_init("pocket", stdin, stdout, stderr);
    history_ = history_init();
    HistEvent ev;
    history(history_, &ev, H_SETSIZE, 1000);
    history(history_, &ev, H_SETUNIQUE, 1);
    el_set(el_, EL_CLIENTDATA, this);
    el_set(el_, EL_SIGNAL, 0);
    el_set(el_, EL_EDITOR, "emacs");
    el_set(el_, EL_PROMPT, &EditLineReader::prompt_text);
    el_set(el_, EL_HIST, history, history_);
    el_set(el_, EL_GETCFN, &EditLineReader::read_char);
    el_source(el_, nullptr);  // the user's ~/.editrc, if any
  }
  ~EditLineReader() override {
    el_end(el_);
    history_end(history_);
  }

  Result read(const std::string& prompt, std::string& line) override {
    prompt_ = prompt;
    int count = 0;
    const char* text = el_gets(el_, &count);
    if (interrupted_ != nullptr && interrupted_->load()) return Result::kInterrupted;
    if (text == nullptr || count <= 0) return Result::kEndOfInput;
    line.assign(text, static_cast<size_t>(count));
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    return Result::kLine;
  }

  void add_history(const std::string& line) override {
    HistEvent ev;
    history(history_, &ev, H_ENTER, line.c_str());
  }

 private:
  static EditLineReader* self(EditLine* el) {
    void* data = nullptr;
    el_get(el, EL_CLIENTDATA, &data);
    return static_cast<EditLineReader*>(data);
  }
  static char* prompt_text(EditLine* el) { return self(el)->prompt_.data(); }

  // One (multibyte) character from fd 0: 1 on success, 0 at end of input, -1 on error or Ctrl-C.
  static int read_char(EditLine* el, wchar_t* out) {
    EditLineReader* me = self(el);
    char bytes[MB_LEN_MAX];
    size_t n = 0;
    for (;;) {
      char c;
      ssize_t r = ::read(STDIN_FILENO, &c, 1);
      if (r < 0 && errno == EINTR) {
        if (me->interrupted_ != nullptr && me->interrupted_->load()) return -1;
        continue;
      }
      if (r < 0) return -1;
      if (r == 0) return 0;
      bytes[n++] = c;
      std::mbstate_t state{};
      wchar_t wc = 0;
      const size_t k = std::mbrtowc(&wc, bytes, n, &state);
      if (k == static_cast<size_t>(-2) && n < sizeof(bytes)) continue;  // an incomplete multibyte sequence
      if (k == static_cast<size_t>(-1) || k == static_cast<size_t>(-2)) {
        wc = static_cast<unsigned char>(bytes[0]);  // not valid in this locale: pass the first byte through
      }
      *out = wc;
      return 1;
    }
  }

  const std::atomic<bool>* interrupted_;
  EditLine* el_ = nullptr;
  History* history_ = nullptr;
  std::string prompt_;
};

}  // namespace

std::unique_ptr<LineReader> LineReader::create(bool terminal, const std::atomic<bool>* interrupted) {
  if (terminal) return std::make_unique<EditLineReader>(interrupted);
  return std::make_unique<PlainLineReader>();
}

}  // namespace pocket
