#include "server/engine.h"

#include <algorithm>
#include <cmath>

#include "base/check.h"
#include "engine/generator.h"

namespace pocket::server {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

// log(sum(exp(logits))), computed stably.
float log_sum_exp(std::span<const float> logits) {
  float max = -INFINITY;
  for (float x : logits) max = std::max(max, x);
  double sum = 0;
  for (float x : logits) sum += std::exp(static_cast<double>(x - max));
  return max + static_cast<float>(std::log(sum));
}

}  // namespace

std::string_view finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kCancelled: return "cancelled";
    case FinishReason::kError: return "error";
  }
  return "?";
}

bool RequestHandle::wait(Event& out, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (!cv_.wait_for(lock, timeout, [&] { return !events_.empty(); })) return false;
  out = std::move(events_.front());
  events_.pop_front();
  while (!events_.empty() && !out.final) {
    Event& e = events_.front();
    out.text += e.text;
    out.logprobs.insert(out.logprobs.end(), std::make_move_iterator(e.logprobs.begin()),
                        std::make_move_iterator(e.logprobs.end()));
    if (e.final) {
      out.final = true;
      out.finish = e.finish;
      out.error = std::move(e.error);
      out.prompt_tokens = e.prompt_tokens;
      out.cached_tokens = e.cached_tokens;
      out.completion_tokens = e.completion_tokens;
    }
    events_.pop_front();
  }
  return true;
}

void RequestHandle::push(Event e) {
  {
    std::lock_guard lock(mu_);
    events_.push_back(std::move(e));
  }
  cv_.notify_all();
}

// A slot: a KV cache, the tokens it holds (kept after a request ends: the prefix cache), and the running request.
struct Engine::Slot {
  explicit Slot(KvCache cache) : kv(std::move(cache)) {}
  bool active() const { return handle != nullptr; }

  KvCache kv;
  std::vector<int32_t> tokens;  // exactly the positions kv holds
  std::shared_ptr<RequestHandle> handle;
  GenParams params;
  size_t prompt_done = 0;       // prompt tokens already in the cache
  bool decoding = false;        // the prompt is in; next_token waits to be evaluated
  int32_t next_token = -1;
  Rng rng{0};
  std::unique_ptr<StreamingDetokenizer> detok;
  std::unique_ptr<StopStringFilter> filter;
  int64_t n_generated = 0;
  int64_t n_cached = 0;
  bool got_first = false;
  Clock::time_point queued;
  uint64_t last_used = 0;       // admission order (0: never used)
  Event out;                    // output of the current step, pushed after it
};

Engine::Engine(std::shared_ptr<const Model> model, Tokenizer tokenizer, const EngineOptions& options)
    : model_(std::move(model)), tokenizer_(std::move(tokenizer)), options_(options) {
  options_.n_slots = std::max(1, options_.n_slots);
  options_.n_batch = std::max<int64_t>(options_.n_batch, options_.n_slots);
  for (int i = 0; i < options_.n_slots; ++i) {
    slots_.push_back(std::make_unique<Slot>(model_->make_cache(options_.n_ctx, options_.kv_type)));
  }
  n_ctx_ = slots_[0]->kv.n_ctx();
  n_threads_ = options_.n_threads > 0 ? options_.n_threads
                                      : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  metrics_.set_active_slots(0, options_.n_slots);
  thread_ = std::thread([this] { run(); });
}

Engine::~Engine() { stop(); }

std::shared_ptr<RequestHandle> Engine::submit(GenParams params) {
  auto handle = std::make_shared<RequestHandle>();
  {
    std::lock_guard lock(mu_);
    if (stopping_ || queue_.size() >= options_.max_queue) return nullptr;
    queue_.push_back({std::move(params), handle, Clock::now()});
    metrics_.set_queue_depth(static_cast<int64_t>(queue_.size()));
  }
  cv_.notify_all();
  return handle;
}

void Engine::cancel_all() {
  {
    std::lock_guard lock(mu_);
    for (auto& p : queue_) p.handle->cancel();
    cancel_running_ = true;
  }
  cv_.notify_all();
}

void Engine::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    for (auto& p : queue_) p.handle->cancel();
    cancel_running_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Engine::run() {
  for (;;) {
    std::deque<Pending> incoming;
    bool cancel_running = false;
    {
      std::unique_lock lock(mu_);
      auto any_active = [&] {
        return std::any_of(slots_.begin(), slots_.end(), [](const auto& s) { return s->active(); });
      };
      cv_.wait(lock, [&] { return stopping_ || cancel_running_ || !queue_.empty() || any_active(); });
      if (stopping_ && queue_.empty() && !any_active()) break;
      cancel_running = std::exchange(cancel_running_, false);
      // Take as many waiting requests as there are free slots (cancelled ones are answered right away).
      size_t free = static_cast<size_t>(
          std::count_if(slots_.begin(), slots_.end(), [](const auto& s) { return !s->active(); }));
      while (!queue_.empty() && (free > 0 || queue_.front().handle->cancelled())) {
        if (!queue_.front().handle->cancelled()) --free;
        incoming.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      metrics_.set_queue_depth(static_cast<int64_t>(queue_.size()));
    }
    for (auto& slot : slots_) {
      if (slot->active() && (cancel_running || slot->handle->cancelled())) finish(*slot, FinishReason::kCancelled);
    }
    admit(incoming);
    auto count_active = [&] {
      metrics_.set_active_slots(
          std::count_if(slots_.begin(), slots_.end(), [](const auto& s) { return s->active(); }), options_.n_slots);
    };
    count_active();
    step();
    count_active();
  }
}

// Puts each new request into the free slot whose cached tokens share the longest prefix with its prompt.
void Engine::admit(std::deque<Pending>& incoming) {
  for (Pending& p : incoming) {
    Event reject;
    reject.final = true;
    reject.prompt_tokens = static_cast<int64_t>(p.params.prompt.size());
    if (p.handle->cancelled()) {
      reject.finish = FinishReason::kCancelled;
      p.handle->push(std::move(reject));
      continue;
    }
    const auto& prompt = p.params.prompt;
    const bool ids_ok = std::all_of(prompt.begin(), prompt.end(),
                                    [&](int32_t id) { return id >= 0 && id < model_->n_vocab(); });
    if (prompt.empty() || static_cast<int64_t>(prompt.size()) >= n_ctx_ || !ids_ok) {
      reject.finish = FinishReason::kError;
      reject.error = prompt.empty() ? "the prompt is empty"
                     : !ids_ok      ? "the prompt has a token id outside the vocabulary"
                                    : "the prompt does not fit the context";
      p.handle->push(std::move(reject));
      continue;
    }
    Slot* best = nullptr;
    Slot* lru = nullptr;
    size_t best_len = 0;
    for (auto& s : slots_) {
      if (s->active()) continue;
      const size_t len = common_prefix(s->tokens, prompt);
      if (best == nullptr || len > best_len) best = s.get(), best_len = len;
      if (lru == nullptr || s->last_used < lru->last_used) lru = s.get();
    }
    POCKET_CHECK(best != nullptr);  // run() takes no more requests than there are free slots
    // A short match (a BOS, a common system prompt fragment) is not worth discarding most of another
    // conversation's cache for: then the least recently used slot is taken instead.
    if (2 * best_len < best->tokens.size() && 2 * best_len < prompt.size()) {
      best = lru;
      best_len = common_prefix(best->tokens, prompt);
    }
    // At least the last prompt token is evaluated again: its logits give the first generated token.
    const size_t keep = std::min(best_len, prompt.size() - 1);
    Slot& slot = *best;
    slot.kv.truncate(static_cast<int64_t>(keep));
    slot.tokens.resize(keep);
    slot.handle = std::move(p.handle);
    slot.params = std::move(p.params);
    slot.prompt_done = keep;
    slot.decoding = false;
    slot.next_token = -1;
    slot.rng = Rng(slot.params.sampler.seed);
    slot.detok = std::make_unique<StreamingDetokenizer>(tokenizer_);
    // The detokenizer sees the prompt first (as `pocket run` does) so the text continues it exactly.
    for (size_t i = 0; i < slot.params.prompt.size(); ++i) {
      const int32_t id = slot.params.prompt[i];
      if (i == 0 && id == tokenizer_.bos_id()) continue;
      (void)slot.detok->push(id);
    }
    slot.filter = std::make_unique<StopStringFilter>(slot.params.stop);
    slot.n_generated = 0;
    slot.n_cached = static_cast<int64_t>(keep);
    slot.got_first = false;
    slot.queued = p.queued;
    slot.last_used = ++use_counter_;
    slot.out = Event{};
  }
}

// One forward pass over every active slot. False when there was nothing to do.
bool Engine::step() {
  std::vector<SequenceBatch> batch;
  std::vector<Slot*> who;
  int64_t budget = options_.n_batch;
  int64_t n_decode = 0, n_prefill = 0;
  for (auto& s : slots_) {
    if (!s->active() || !s->decoding) continue;
    batch.push_back({std::span(&s->next_token, 1), &s->kv});
    who.push_back(s.get());
    --budget;
    ++n_decode;
  }
  for (auto& s : slots_) {
    if (!s->active() || s->decoding || budget <= 0) continue;
    const auto& prompt = s->params.prompt;
    const int64_t n = std::min<int64_t>(budget, static_cast<int64_t>(prompt.size() - s->prompt_done));
    batch.push_back({std::span(prompt.data() + s->prompt_done, static_cast<size_t>(n)), &s->kv});
    who.push_back(s.get());
    budget -= n;
    n_prefill += n;
  }
  if (batch.empty()) return false;

  ForwardOptions fo;
  fo.n_threads = n_threads_;
  const auto t0 = Clock::now();
  Status st = model_->forward_batch(batch, fo, logits_);
  const double dt = seconds_between(t0, Clock::now());
  if (!st.ok()) {
    for (Slot* s : who) finish(*s, FinishReason::kError, st.message());
    return true;
  }
  const double total = static_cast<double>(n_decode + n_prefill);
  if (n_prefill > 0) metrics_.on_prefill(n_prefill, dt * static_cast<double>(n_prefill) / total);
  if (n_decode > 0) metrics_.on_decode(n_decode, dt * static_cast<double>(n_decode) / total);

  const size_t n_vocab = static_cast<size_t>(model_->n_vocab());
  for (size_t i = 0; i < who.size(); ++i) {
    Slot& s = *who[i];
    s.tokens.insert(s.tokens.end(), batch[i].tokens.begin(), batch[i].tokens.end());
    POCKET_CHECK(static_cast<int64_t>(s.tokens.size()) == s.kv.n_past());
    if (!s.decoding) {
      s.prompt_done += batch[i].tokens.size();
      if (s.prompt_done < s.params.prompt.size()) continue;  // more prompt chunks to come
      s.decoding = true;
    }
    process_logits(s, std::span<const float>(logits_.data() + i * n_vocab, n_vocab));
  }
  for (Slot* s : who) {
    if (s->active() && (!s->out.text.empty() || !s->out.logprobs.empty())) s->handle->push(std::exchange(s->out, {}));
  }
  return true;
}

// Samples the slot's next token from its logits and streams it (or finishes the request).
void Engine::process_logits(Slot& s, std::span<const float> logits) {
  const GenParams& p = s.params;
  TokenLogprob lp;
  if (p.top_logprobs >= 0) {
    const float lse = log_sum_exp(logits);
    for (auto [id, logit] : top_k(logits, p.top_logprobs)) lp.top.emplace_back(id, logit - lse);
    lp.logprob = -lse;  // + the chosen token's logit below
  }
  const int32_t id = sample(logits, s.tokens, p.sampler, s.rng);
  if (!s.got_first) {
    s.got_first = true;
    metrics_.on_ttft(seconds_between(s.queued, Clock::now()));
  }
  if (tokenizer_.is_end_of_generation(id)) return finish(s, FinishReason::kStop);
  ++s.n_generated;
  if (p.top_logprobs >= 0) {
    lp.id = id;
    lp.logprob += logits[static_cast<size_t>(id)];
    s.out.logprobs.push_back(std::move(lp));
  }
  s.out.text += s.filter->push(s.detok->push(id));
  if (s.filter->stopped()) return finish(s, FinishReason::kStop);
  if (p.max_tokens >= 0 && s.n_generated >= p.max_tokens) return finish(s, FinishReason::kLength);
  if (s.kv.n_past() >= s.kv.n_ctx()) return finish(s, FinishReason::kLength);  // no room for the next token
  s.next_token = id;
}

void Engine::finish(Slot& s, FinishReason reason, std::string error) {
  if (reason != FinishReason::kError && !s.filter->stopped()) {
    s.out.text += s.filter->push(s.detok->flush());
    s.out.text += s.filter->flush();
  }
  Event e = std::exchange(s.out, {});
  e.final = true;
  e.finish = reason;
  e.error = std::move(error);
  e.prompt_tokens = static_cast<int64_t>(s.params.prompt.size());
  e.cached_tokens = s.n_cached;
  e.completion_tokens = s.n_generated;
  metrics_.on_finished(e.prompt_tokens, e.cached_tokens, e.completion_tokens);
  s.handle->push(std::move(e));
  s.handle.reset();
  s.decoding = false;
  s.detok.reset();
  s.filter.reset();
}

}  // namespace pocket::server
