// The OpenAI request format: what is accepted, what is refused (status, param, code like OpenAI's), and the
// response / chunk shapes the official clients parse.
#include "server/api.h"

#include <string>

#include <gtest/gtest.h>

#include "chat/chat_format.h"
#include "test_model.h"

namespace pocket::server {
namespace {

class Api : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = chat::ChatTemplate::parse(chat::kChatMlTemplate);
    ASSERT_TRUE(t.ok()) << t.status().message();
    tmpl_ = std::make_unique<chat::ChatTemplate>(std::move(t).value());
    ctx_.tokenizer = TestModel::get().tokenizer.get();
    ctx_.chat_template = tmpl_.get();
    ctx_.n_ctx = 256;
    ctx_.model_id = "tiny";
  }

  ApiError error(Endpoint ep, const std::string& body) {
    auto r = parse_request(ep, body, ctx_, 123);
    if (!std::holds_alternative<ApiError>(r)) {
      ADD_FAILURE() << "accepted: " << body;
      return {};
    }
    return std::get<ApiError>(r);
  }
  ApiRequest ok(Endpoint ep, const std::string& body) {
    auto r = parse_request(ep, body, ctx_, 123);
    if (auto* e = std::get_if<ApiError>(&r)) {
      ADD_FAILURE() << "refused: " << body << ": " << e->message;
      return {};
    }
    return std::get<ApiRequest>(r);
  }

  std::unique_ptr<chat::ChatTemplate> tmpl_;
  ApiContext ctx_;
};

constexpr Endpoint kChat = Endpoint::kChat;
constexpr Endpoint kCompl = Endpoint::kCompletion;

TEST_F(Api, MalformedAndNonObjectBodies) {
  for (const char* body : {"", "{", "{\"messages\": [}", "not json", "\xff\xfe", "{\"a\":1}}"}) {
    ApiError e = error(kChat, body);
    EXPECT_EQ(e.status, 400) << body;
    EXPECT_NE(e.message.find("parse the JSON"), std::string::npos) << body;
  }
  EXPECT_EQ(error(kChat, "[]").status, 400);
  EXPECT_EQ(error(kCompl, "42").status, 400);
  EXPECT_EQ(error(kCompl, "null").status, 400);
}

TEST_F(Api, WrongTypesNameTheParameter) {
  struct Case { const char* body; const char* param; };
  const Case cases[] = {
      {R"({"messages":[{"role":"user","content":"hi"}],"temperature":"hot"})", "temperature"},
      {R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":1.5})", "max_tokens"},
      {R"({"messages":[{"role":"user","content":"hi"}],"seed":"1"})", "seed"},
      {R"({"messages":[{"role":"user","content":"hi"}],"stream":1})", "stream"},
      {R"({"messages":[{"role":"user","content":"hi"}],"stop":[1]})", "stop"},
      {R"({"messages":[{"role":"user","content":"hi"}],"model":7})", "model"},
      {R"({"messages":"hi"})", "messages"},
      {R"({"messages":[{"role":"user","content":5}]})", "messages[0].content"},
      {R"({"messages":[{"role":"user","content":[{"type":"image_url"}]}]})", "messages[0].content"},
      {R"({"messages":[7]})", "messages[0]"},
  };
  for (const auto& c : cases) {
    ApiError e = error(kChat, c.body);
    EXPECT_EQ(e.status, 400) << c.body;
    EXPECT_EQ(e.param, c.param) << c.body;
    EXPECT_EQ(e.type, "invalid_request_error");
  }
}

TEST_F(Api, OutOfRangeAndUnsupportedValues) {
  const char* msgs = R"("messages":[{"role":"user","content":"hi"}])";
  for (const char* extra : {R"("temperature":2.5)", R"("temperature":-1)", R"("top_p":1.5)", R"("n":2)",
                            R"("max_tokens":0)", R"("max_tokens":-5)", R"("presence_penalty":3)",
                            R"("top_logprobs":3)", R"("logprobs":true,"top_logprobs":21)",
                            R"("stop":["a","b","c","d","e"])", R"("stream_options":{"include_usage":true})",
                            R"("logit_bias":{"1":5})", R"("tools":[{"type":"function"}])",
                            R"("response_format":{"type":"json_schema"})", R"("response_format":"json")",
                            R"("frobnicate":true)"}) {
    const std::string body = std::string("{") + msgs + "," + extra + "}";
    EXPECT_EQ(error(kChat, body).status, 400) << body;
  }
  EXPECT_EQ(error(kChat, R"({"messages":[{"role":"user","content":"hi"}],"frobnicate":1})").code, "unknown_parameter");
}

TEST_F(Api, MessagesMustBeNonEmptyWithKnownRoles) {
  EXPECT_EQ(error(kChat, R"({"model":"x"})").code, "missing_required_parameter");
  EXPECT_EQ(error(kChat, R"({"messages":[]})").code, "empty_array");
  EXPECT_EQ(error(kChat, R"({"messages":[{"content":"hi"}]})").param, "messages[0].role");
  EXPECT_EQ(error(kChat, R"({"messages":[{"role":"wizard","content":"hi"}]})").param, "messages[0].role");
}

TEST_F(Api, PromptLongerThanTheContextIsRefused) {
  std::string big(3000, 'x');
  ApiError e = error(kChat, R"({"messages":[{"role":"user","content":")" + big + R"("}]})");
  EXPECT_EQ(e.code, "context_length_exceeded");
  EXPECT_EQ(error(kCompl, R"({"prompt":")" + big + R"("})").code, "context_length_exceeded");
}

TEST_F(Api, JsonObjectNeedsTheWordJsonInTheMessages) {
  ApiError e = error(kChat, R"({"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_object"}})");
  EXPECT_EQ(e.param, "messages");
  ok(kChat, R"({"messages":[{"role":"user","content":"Answer in JSON"}],"response_format":{"type":"json_object"}})");
}

TEST_F(Api, ChatRendersTheTemplateAndTokenizes) {
  ApiRequest r = ok(kChat, R"({"model":"m","messages":[{"role":"developer","content":"Be brief."},
      {"role":"user","content":[{"type":"text","text":"Hello"},{"type":"text","text":" there"}]}],
      "temperature":0,"max_completion_tokens":5,"stop":"\n","seed":9,"top_k":3,"logprobs":true,"top_logprobs":2})");
  EXPECT_EQ(r.prompt_text, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHello there<|im_end|>\n"
                           "<|im_start|>assistant\n");
  EXPECT_EQ(r.gen.prompt, ctx_.tokenizer->encode(r.prompt_text, true, true));
  EXPECT_EQ(r.gen.max_tokens, 5);
  EXPECT_EQ(r.gen.sampler.temperature, 0.0f);
  EXPECT_EQ(r.gen.sampler.seed, 9u);
  EXPECT_EQ(r.gen.sampler.top_k, 3);
  EXPECT_EQ(r.gen.stop, std::vector<std::string>{"\n"});
  EXPECT_EQ(r.gen.top_logprobs, 2);
  EXPECT_EQ(r.model, "m");
}

TEST_F(Api, DefaultsFollowOpenAI) {
  ApiRequest chat = ok(kChat, R"({"messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(chat.gen.max_tokens, -1);  // until the context is full
  EXPECT_EQ(chat.gen.sampler.temperature, 1.0f);
  EXPECT_EQ(chat.gen.sampler.top_p, 1.0f);
  EXPECT_EQ(chat.gen.sampler.seed, 123u);  // the server's random seed
  EXPECT_EQ(chat.gen.top_logprobs, -1);
  EXPECT_EQ(chat.model, "tiny");
  ApiRequest c = ok(kCompl, R"({"prompt":"Once upon a time"})");
  EXPECT_EQ(c.gen.max_tokens, 16);
  EXPECT_EQ(c.gen.prompt, ctx_.tokenizer->encode("Once upon a time", true, true));
}

TEST_F(Api, CompletionPromptForms) {
  ApiRequest ids = ok(kCompl, R"({"prompt":[1, 400, 20]})");
  EXPECT_EQ(ids.gen.prompt, (std::vector<int32_t>{1, 400, 20}));
  ApiRequest one = ok(kCompl, R"({"prompt":["Once"]})");
  EXPECT_EQ(one.prompt_text, "Once");
  EXPECT_EQ(error(kCompl, R"({"prompt":["a","b"]})").param, "prompt");
  EXPECT_EQ(error(kCompl, R"({"prompt":[1, 99999]})").param, "prompt");
  EXPECT_EQ(error(kCompl, R"({"prompt":[-1]})").param, "prompt");
  EXPECT_EQ(error(kCompl, R"({"prompt":{}})").param, "prompt");
  EXPECT_EQ(error(kCompl, R"({})").param, "prompt");
  EXPECT_EQ(error(kCompl, R"({"prompt":"x","logprobs":6})").param, "logprobs");
  EXPECT_EQ(error(kCompl, R"({"prompt":"x","best_of":2})").param, "best_of");
  EXPECT_EQ(error(kCompl, R"({"prompt":"x","messages":[]})").code, "unknown_parameter");
  EXPECT_EQ(ok(kCompl, R"({"prompt":"x","logprobs":0})").gen.top_logprobs, 0);
}

TEST_F(Api, ErrorBodyShape) {
  Json j = error_body(ApiError{400, "bad", "invalid_request_error", "temperature", ""});
  EXPECT_EQ(dump(j), R"({"error":{"message":"bad","type":"invalid_request_error","param":"temperature","code":null}})");
}

TEST_F(Api, DumpReplacesInvalidUtf8) { EXPECT_EQ(dump(Json("a\xff")), "\"a\xEF\xBF\xBD\""); }

TEST_F(Api, ResponsesAndChunks) {
  ApiRequest r = ok(kChat, R"({"messages":[{"role":"user","content":"hi"}],"stream":true,
                                "stream_options":{"include_usage":true}})");
  ResponseMeta meta{"chatcmpl-1", 1700000000, "tiny"};
  Event fin;
  fin.final = true;
  fin.finish = FinishReason::kLength;
  fin.prompt_tokens = 5;
  fin.completion_tokens = 3;
  fin.cached_tokens = 2;
  const Tokenizer& tok = *ctx_.tokenizer;
  Json first = stream_chunk(r, meta, "", {}, std::nullopt, true, tok);
  EXPECT_EQ(first["object"], "chat.completion.chunk");
  EXPECT_EQ(first["choices"][0]["delta"]["role"], "assistant");
  EXPECT_EQ(first["choices"][0]["delta"]["content"], "");
  EXPECT_TRUE(first["usage"].is_null());
  Json mid = stream_chunk(r, meta, "abc", {}, std::nullopt, false, tok);
  EXPECT_EQ(mid["choices"][0]["delta"]["content"], "abc");
  EXPECT_FALSE(mid["choices"][0]["delta"].contains("role"));
  Json last = stream_chunk(r, meta, "", {}, FinishReason::kLength, false, tok);
  EXPECT_EQ(last["choices"][0]["finish_reason"], "length");
  EXPECT_TRUE(last["choices"][0]["delta"].empty());
  Json usage = stream_usage_chunk(r, meta, fin);
  EXPECT_TRUE(usage["choices"].empty());
  EXPECT_EQ(usage["usage"]["total_tokens"], 8);
  EXPECT_EQ(usage["usage"]["prompt_tokens_details"]["cached_tokens"], 2);

  TokenLogprob lp{tok.encode("cat", false, false).at(0), -0.5f, {{5, -0.5f}, {6, -2.0f}}};
  r.logprobs = true;
  Json full = full_response(r, meta, "hello", {lp}, fin, tok);
  EXPECT_EQ(full["object"], "chat.completion");
  EXPECT_EQ(full["choices"][0]["message"]["content"], "hello");
  EXPECT_EQ(full["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(full["choices"][0]["logprobs"]["content"][0]["logprob"], -0.5f);
  EXPECT_EQ(full["choices"][0]["logprobs"]["content"][0]["top_logprobs"].size(), 2u);
  EXPECT_EQ(full["usage"]["completion_tokens"], 3);

  ApiRequest c = ok(kCompl, R"({"prompt":"Once","echo":true,"logprobs":1})");
  Json cf = full_response(c, meta, " upon", {lp}, fin, tok);
  EXPECT_EQ(cf["object"], "text_completion");
  EXPECT_EQ(cf["choices"][0]["text"], "Once upon");
  EXPECT_EQ(cf["choices"][0]["logprobs"]["text_offset"][0], 4);
  EXPECT_EQ(cf["choices"][0]["logprobs"]["token_logprobs"][0], -0.5f);
  EXPECT_EQ(models_json("tiny", 5)["data"][0]["id"], "tiny");
}

}  // namespace
}  // namespace pocket::server
