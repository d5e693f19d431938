// The sampling flags shared by `pocket run` and `pocket chat` (same names and defaults as llama.cpp's).
#pragma once

#include <CLI/CLI.hpp>

#include "sample/sampler.h"

namespace pocket {

// Adds --temp, --top-k, --top-p, --min-p, --repeat-penalty, --presence-penalty, --frequency-penalty and
// --repeat-last-n, bound to the fields of `sampler` (whose defaults the help texts state).
void add_sampler_options(CLI::App& app, SamplerParams& sampler);

}  // namespace pocket
