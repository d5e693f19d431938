// The value model of the Jinja interpreter: Python's data model as Jinja2 sees it (None, bool, int, float, str,
// list/tuple, dict, namespace/loop objects, callables) plus jinja2's default Undefined. Lists and dicts are shared
// by reference as in Python; the sandbox forbids mutating them, so only namespace objects change after creation.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace pocket::chat {

// A Python exception raised while rendering: `type` is the Python class name ("TypeError", "UndefinedError", ...).
// The largest string any one operation may build (rendered output, repr, tojson, concatenation).
inline constexpr size_t kMaxStringBytes = 16u << 20;

struct JinjaError {
  std::string type;
  std::string message;
};

[[noreturn]] void raise(std::string type, std::string message);

// Work accounting for one render on this thread: evaluation steps plus the elements that O(n) helpers touch
// (iteration copies, comparisons, membership tests), so no template can run unbounded work.
void reset_work_budget(uint64_t budget);
void charge_work(uint64_t units);

class Value;
struct List;
struct Dict;
struct Object;
struct Callable;
class Interpreter;

enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kObject, kCallable };

class Value {
 public:
  Value() = default;  // undefined
  static Value undefined(std::string hint = {});  // hint: the message raised when it is used
  static Value none() { Value v; v.kind_ = Kind::kNone; return v; }
  Value(bool b) : kind_(Kind::kBool), b_(b) {}                        // NOLINT
  Value(int v) : kind_(Kind::kInt), i_(v) {}                          // NOLINT
  Value(int64_t v) : kind_(Kind::kInt), i_(v) {}                      // NOLINT
  Value(double v) : kind_(Kind::kFloat), f_(v) {}                     // NOLINT
  Value(std::string s) : kind_(Kind::kString), s_(std::move(s)) {}    // NOLINT
  Value(const char* s) : kind_(Kind::kString), s_(s) {}               // NOLINT
  // markupsafe.Markup: a string marked safe (|safe, |escape). Markup + str escapes the str (HTML).
  static Value markup(std::string s) {
    Value v(std::move(s));
    v.markup_ = true;
    return v;
  }
  static Value list(std::vector<Value> items, bool tuple = false);
  static Value dict(std::shared_ptr<Dict> d);
  static Value object(std::shared_ptr<Object> o);
  static Value callable(std::string name, std::function<Value(Interpreter&, struct CallArgs&)> fn);
  static Value from_json(const nlohmann::ordered_json& j);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_int() const { return kind_ == Kind::kInt || kind_ == Kind::kBool; }  // Python: bool is an int
  bool is_number() const { return is_int() || kind_ == Kind::kFloat; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_markup() const { return kind_ == Kind::kString && markup_; }
  bool is_list() const { return kind_ == Kind::kList; }
  bool is_dict() const { return kind_ == Kind::kDict; }
  bool is_object() const { return kind_ == Kind::kObject; }
  bool is_callable() const { return kind_ == Kind::kCallable; }

  bool as_bool() const { return b_; }
  int64_t as_int() const { return kind_ == Kind::kBool ? (b_ ? 1 : 0) : i_; }
  double as_double() const { return kind_ == Kind::kFloat ? f_ : static_cast<double>(as_int()); }
  const std::string& str() const { return s_; }  // string value, or the undefined hint
  const List& as_list() const { return *list_; }
  const Dict& as_dict() const { return *dict_; }
  Object& as_object() const { return *obj_; }
  const Callable& as_callable() const { return *fn_; }
  const std::shared_ptr<List>& list_ptr() const { return list_; }

  bool truthy() const;
  // Python's type name ("str", "NoneType", "list", ...), as used in error messages.
  std::string type_name() const;
  // len() or raise TypeError.
  int64_t length() const;

 private:
  Kind kind_ = Kind::kUndefined;
  bool b_ = false;
  bool markup_ = false;
  int64_t i_ = 0;
  double f_ = 0;
  std::string s_;
  std::shared_ptr<List> list_;
  std::shared_ptr<Dict> dict_;
  std::shared_ptr<Object> obj_;
  std::shared_ptr<Callable> fn_;
};

struct List {
  std::vector<Value> items;
  bool is_tuple = false;
};

// Insertion-ordered like Python's dict. Lookup is linear: chat dicts are small, and the step budget bounds the rest.
struct Dict {
  std::vector<std::pair<Value, Value>> items;
  const Value* find(const Value& key) const;
  const Value* find(std::string_view key) const;
  const Value* find(const std::string& key) const { return find(std::string_view(key)); }
  const Value* find(const char* key) const { return find(std::string_view(key)); }
  void set(const Value& key, Value value);
};

// An attribute bag: namespace() (mutable through {% set ns.x %}), loop, cycler-like helpers.
struct Object {
  std::string type_name;  // "Namespace", "LoopContext"
  std::vector<std::pair<std::string, Value>> attrs;
  const Value* find(std::string_view name) const;
  void set(const std::string& name, Value value);
};

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
  // Keyword `name`, else positional[index] (index < 0: keyword only), else nullptr.
  const Value* get(std::string_view name, int index) const;
};

struct Callable {
  std::string name;
  std::function<Value(Interpreter&, CallArgs&)> fn;
};

// Python equality (1 == 1.0 == True, deep for lists/dicts; Undefined equals only Undefined).
bool values_equal(const Value& a, const Value& b);
// Python ordering for <, >: numbers and strings and lists; raises TypeError otherwise. Returns -1/0/1.
int compare_values(const Value& a, const Value& b, const char* op);

// Python str(): None -> "None", True -> "True", 1.0 -> "1.0", lists/dicts as repr; Undefined -> "".
std::string to_str(const Value& v);
// Python repr(): strings quoted as Python does.
std::string to_repr(const Value& v);
std::string float_repr(double f);
// markupsafe.escape: & < > " ' as HTML entities.
std::string html_escape(std::string_view s);
std::string string_repr(std::string_view s);

// json.dumps(value, ensure_ascii=False, indent=indent (<0: none), separators, sort_keys).
std::string to_json(const Value& v, int indent, const std::string& item_sep, const std::string& key_sep,
                    bool sort_keys);

// Iteration as Python's iter(): list items, dict keys, string characters (UTF-8 code points); Undefined is empty;
// anything else raises TypeError "'T' object is not iterable".
std::vector<Value> iterate(const Value& v);

// UTF-8 helpers: code points of s (each as its UTF-8 bytes).
std::vector<std::string> utf8_chars(std::string_view s);
int64_t utf8_length(std::string_view s);

}  // namespace pocket::chat
