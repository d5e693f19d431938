#include "base/shared_data.h"

#include <cstdlib>

namespace pocket {

std::string shared_data_dir() {
  if (const char* env = std::getenv("POCKET_SHARED"); env != nullptr && *env != '\0') return env;
#ifdef POCKET_SOURCE_DIR
  return std::string(POCKET_SOURCE_DIR) + "/../shared";
#else
  return "../shared";
#endif
}

}  // namespace pocket
