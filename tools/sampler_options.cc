#include "sampler_options.h"

namespace pocket {

void add_sampler_options(CLI::App& app, SamplerParams& sampler) {
  app.add_option("--temp", sampler.temperature, "temperature (default 0.8; 0: greedy)");
  app.add_option("--top-k", sampler.top_k, "top-k (default 40; 0: off)");
  app.add_option("--top-p", sampler.top_p, "top-p (default 0.95; 1: off)");
  app.add_option("--min-p", sampler.min_p, "min-p (default 0.05; 0: off)");
  app.add_option("--repeat-penalty", sampler.repeat_penalty, "repetition penalty (default 1: off)");
  app.add_option("--presence-penalty", sampler.presence_penalty, "presence penalty (default 0)");
  app.add_option("--frequency-penalty", sampler.frequency_penalty, "frequency penalty (default 0)");
  app.add_option("--repeat-last-n", sampler.penalty_last_n, "penalty window in tokens (default 64; -1: all)");
}

}  // namespace pocket
