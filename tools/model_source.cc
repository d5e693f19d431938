#include "model_source.h"

#include <cstdio>

#include "embedded_model.h"

namespace pocket {

void add_model_option(CLI::App& app, std::string& path) {
  app.add_option("-m,--model", path, "GGUF model file (default: the embedded tiny-stories model)");
}

Result<GgufFile> open_model_file(const std::string& path) {
  if (path.empty()) return GgufFile::from_bytes(embedded_model_bytes(), kEmbeddedModelName);
  return GgufFile::open(path);
}

int report_error(const Status& status) {
  std::fprintf(stderr, "pocket: %s\n", status.message().c_str());
  return status.exit_code();
}

Result<KvType> kv_type_from_flag(const std::string& value) {
  if (value == "f32") return KvType::kF32;
  if (value == "f16") return KvType::kF16;
  return bad_input("--kv-type: '{}' is not f32 or f16", value);
}

}  // namespace pocket
