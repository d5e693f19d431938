// The embedded default model (tiny-stories, 260K parameters, F32, tok512 vocabulary).
#pragma once

#include <cstdint>
#include <span>

namespace pocket {

// The GGUF bytes of the embedded model; valid for the life of the process.
std::span<const uint8_t> embedded_model_bytes();
// The name used for the embedded model in messages and JSON.
inline constexpr const char* kEmbeddedModelName = "tiny-stories.gguf (embedded)";

}  // namespace pocket
