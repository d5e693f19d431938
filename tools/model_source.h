// Opening the model a subcommand works on: the file given with -m, else the embedded default model.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "base/status.h"
#include "format/gguf.h"
#include "model/kv_cache.h"

namespace pocket {

// Adds the common `-m,--model FILE` option to `app`, bound to `path`.
void add_model_option(CLI::App& app, std::string& path);
// Opens `path`, or the embedded model when `path` is empty.
Result<GgufFile> open_model_file(const std::string& path);

// The value of a `--kv-type` flag: "f32" or "f16", else a bad-input error naming the flag.
Result<KvType> kv_type_from_flag(const std::string& value);

// Prints "pocket: <message>" on stderr and returns the status's exit code (2 bad input, 1 failure).
int report_error(const Status& status);

}  // namespace pocket
