// POCKET_CHECK: an always-on invariant check (never compiled out, unlike assert). Use it for programming
// errors only; data from outside is validated with Status/Result (status.h).
#pragma once

#include <cstdio>
#include <cstdlib>

#define POCKET_CHECK(cond)                                                                  \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      std::fprintf(stderr, "pocket: internal error: check failed: %s (%s:%d)\n", #cond,     \
                   __FILE__, __LINE__);                                                     \
      std::abort();                                                                         \
    }                                                                                       \
  } while (0)
