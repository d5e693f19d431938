#include "model/arch.h"

#include <array>

namespace pocket {
namespace {

using kernels::RopeStyle;
constexpr FfnActivation kSilu = FfnActivation::kSilu;
constexpr FfnActivation kGelu = FfnActivation::kGelu;

// Sources: llama.cpp's llama-model.cpp (load_hparams, load_tensors and the llm_build_* graph of each family).
//  name      rope              bias   qknorm fusedqkv fusedup act    post   embscale qscale swa  swa_base
constexpr std::array<ArchSpec, 6> kArchs = {{
    {"llama",  RopeStyle::kNormal, false, false, false, false, kSilu, false, false, false, 0, 0.0f},
    {"qwen2",  RopeStyle::kNeox,   true,  false, false, false, kSilu, false, false, false, 0, 0.0f},
    {"qwen3",  RopeStyle::kNeox,   false, true,  false, false, kSilu, false, false, false, 0, 0.0f},
    {"phi3",   RopeStyle::kNeox,   false, false, true,  true,  kSilu, false, false, false, 0, 0.0f},
    {"gemma2", RopeStyle::kNeox,   false, false, false, false, kGelu, true,  true,  true,  2, 0.0f},
    {"gemma3", RopeStyle::kNeox,   false, true,  false, false, kGelu, true,  true,  true,  6, 10000.0f},
}};

}  // namespace

const ArchSpec* find_arch(std::string_view name) {
  for (const auto& a : kArchs) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

std::span<const ArchSpec> all_archs() { return kArchs; }

}  // namespace pocket
