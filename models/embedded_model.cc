#include "embedded_model.h"

extern "C" const uint8_t pocket_embedded_model_begin[];
extern "C" const uint8_t pocket_embedded_model_end[];

namespace pocket {

std::span<const uint8_t> embedded_model_bytes() {
  return {pocket_embedded_model_begin, static_cast<size_t>(pocket_embedded_model_end - pocket_embedded_model_begin)};
}

}  // namespace pocket
