// `pocket template`: renders a conversation through a chat template and prints the prompt's exact bytes
// (contract in shared/design/CLI.md). The template and bos/eos strings come from the model's GGUF metadata
// (tokenizer.chat_template, tokenizer.ggml.tokens[tokenizer.ggml.bos_token_id / eos_token_id]) or from
// --chat-template FILE with --bos-token / --eos-token. A template that raises: exit 1, message on stderr, no stdout.
#include <cstdio>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "chat/chat_format.h"
#include "chat_util.h"
#include "command.h"
#include "model_source.h"

namespace pocket {
namespace {

struct TemplateOptions {
  std::string model;
  std::string template_file;
  std::optional<std::string> bos_token;
  std::optional<std::string> eos_token;
  std::string messages_file;
  bool add_generation_prompt = false;
  std::string now;
};

Status load_conversation(const std::string& path, chat::ChatRequest& req) {
  POCKET_ASSIGN_OR_RETURN(std::string text, read_text_file(path, "--messages"));
  POCKET_ASSIGN_OR_RETURN(Conversation conv, parse_conversation(text, "--messages " + path));
  req.messages = std::move(conv.messages);
  req.tools = std::move(conv.tools);
  return ok_status();
}

int run_template(const TemplateOptions& opt) {
  chat::ChatRequest req;
  Status st = load_conversation(opt.messages_file, req);
  if (!st.ok()) return report_error(st);
  req.add_generation_prompt = opt.add_generation_prompt;
  if (!opt.now.empty()) {
    auto now = chat::parse_iso_time(opt.now);
    if (!now.ok()) return report_error(now.status());
    req.now = *now;
  } else {
    req.now = chat::local_now();
  }
  std::string source;
  if (!opt.template_file.empty()) {
    auto text = read_text_file(opt.template_file, "--chat-template");
    if (!text.ok()) return report_error(text.status());
    source = std::move(*text);
  }
  // The model supplies what the flags did not: the template (when no --chat-template) and bos/eos strings
  // (when -m is given or no --chat-template).
  if (opt.template_file.empty() || !opt.model.empty()) {
    auto gguf = open_model_file(opt.model);
    if (!gguf.ok()) return report_error(gguf.status());
    if (opt.template_file.empty()) {
      source = gguf->get_string("tokenizer.chat_template").value_or(chat::kChatMlTemplate);
    }
    req.bos_token = vocab_token(*gguf, "tokenizer.ggml.bos_token_id");
    req.eos_token = vocab_token(*gguf, "tokenizer.ggml.eos_token_id");
  }
  if (opt.bos_token) req.bos_token = *opt.bos_token;
  if (opt.eos_token) req.eos_token = *opt.eos_token;
  auto rendered = chat::render_chat(source, req);
  if (!rendered.ok()) return report_error(rendered.status());
  std::fwrite(rendered->data(), 1, rendered->size(), stdout);
  if (std::fflush(stdout) != 0) return report_error(failure("writing the rendered prompt to stdout failed"));
  return 0;
}

CommandRegistration reg("template", "Render a conversation through the model's chat template (exact bytes)",
                        [](CLI::App& app) -> std::function<int()> {
  auto opt = std::make_shared<TemplateOptions>();
  add_model_option(app, opt->model);
  app.add_option("--chat-template", opt->template_file, "Jinja chat template file (overrides the model's)");
  app.add_option("--bos-token", opt->bos_token, "bos_token string the template sees (\"\" = empty)");
  app.add_option("--eos-token", opt->eos_token, "eos_token string the template sees (\"\" = empty)");
  app.add_option("--messages", opt->messages_file, "conversation JSON: {\"messages\": [...], \"tools\": [...]}")
      ->required();
  app.add_flag("--add-generation-prompt", opt->add_generation_prompt, "end with the assistant turn's opening");
  app.add_option("--now", opt->now, "fix what strftime_now() sees, e.g. 2025-03-04T05:06:07");
  return [opt] { return run_template(*opt); };
});

}  // namespace
}  // namespace pocket
