// libFuzzer entry point (built only with POCKET_FUZZ=ON). Seed it with shared/templates/templates/*.jinja.
#include "fuzz_chat_entry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pocket::chat::fuzz_chat_template_once(data, size);
  return 0;
}
