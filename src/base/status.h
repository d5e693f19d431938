// Status and Result<T>: the one error policy for external input (files, CLI, JSON, HTTP).
// An error carries a kind (which decides the process exit code) and one human-readable line that names the
// file, key, tensor or flag and what was expected. Invariants use POCKET_CHECK (check.h) instead.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace pocket {

enum class ErrorKind {
  kBadInput = 2,  // malformed model file, bad flag, malformed JSON: exit code 2
  kFailure = 1,   // I/O error, out of memory, template raised while working: exit code 1
};

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  Status(ErrorKind kind, std::string message) : error_(Error{kind, std::move(message)}) {}

  bool ok() const { return !error_.has_value(); }
  const std::string& message() const { return error_->message; }
  ErrorKind kind() const { return error_->kind; }
  int exit_code() const { return ok() ? 0 : static_cast<int>(error_->kind); }

  // Prefixes context ("model.gguf: ") to the message, keeping the kind.
  Status with_context(std::string_view prefix) const {
    if (ok()) return *this;
    return Status(kind(), fmt::format("{}{}", prefix, message()));
  }

 private:
  struct Error {
    ErrorKind kind;
    std::string message;
  };
  std::optional<Error> error_;
};

inline Status ok_status() { return Status(); }

template <typename... Args>
Status bad_input(fmt::format_string<Args...> format, Args&&... args) {
  return Status(ErrorKind::kBadInput, fmt::format(format, std::forward<Args>(args)...));
}

template <typename... Args>
Status failure(fmt::format_string<Args...> format, Args&&... args) {
  return Status(ErrorKind::kFailure, fmt::format(format, std::forward<Args>(args)...));
}

// Result<T>: a value or an error Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}                // NOLINT: implicit by design
  Result(Status status) : state_(std::move(status)) {}         // NOLINT: must be an error status

  bool ok() const { return std::holds_alternative<T>(state_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(state_);
  }
  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace pocket

// Returns early from a function returning Status or Result<U> when `expr` (a Status) is an error.
#define POCKET_RETURN_IF_ERROR(expr)              \
  do {                                            \
    ::pocket::Status pocket_status_ = (expr);     \
    if (!pocket_status_.ok()) return pocket_status_; \
  } while (0)

#define POCKET_CONCAT_INNER(a, b) a##b
#define POCKET_CONCAT(a, b) POCKET_CONCAT_INNER(a, b)

// POCKET_ASSIGN_OR_RETURN(auto x, expr): binds the value of a Result, or returns its error status.
#define POCKET_ASSIGN_OR_RETURN(lhs, expr) \
  POCKET_ASSIGN_OR_RETURN_IMPL(POCKET_CONCAT(pocket_result_, __LINE__), lhs, expr)
#define POCKET_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()
