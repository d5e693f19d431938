// Where the shared reference data lives: $POCKET_SHARED, else ../shared beside the source tree.
#pragma once

#include <string>

namespace pocket {

// Directory of the shared reference data (no trailing slash).
std::string shared_data_dir();

}  // namespace pocket
