// One fuzz iteration for the chat-template engine: parse `data` as a template and render it against a small fixed
// conversation (messages with tool calls, tools, bos/eos) under reduced limits. Must never crash, hang or leak.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pocket::chat {

// Returns 1 if the template rendered, 0 if it failed with an error (both are fine outcomes).
int fuzz_chat_template_once(const uint8_t* data, size_t size);

}  // namespace pocket::chat
