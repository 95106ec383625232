// Chat templates: renders the Jinja `chat_template` of tokenizer_config.json the way transformers'
// apply_chat_template(..., tokenize=False) does, with the same variables and message clean-up.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace glint {

// Renders `template_source` for `messages` (a JSON array of message objects).
// `extra` holds the other template variables: bos_token / eos_token / ... (what transformers takes from the
// tokenizer's special tokens), `tools`, `documents`, and any keyword a template reads (enable_thinking,
// date_string, ...). Messages keep their key order (ordered_json), which tojson output depends on.
// Errors (bad syntax, unsupported features, raise_exception in the template) throw glint::Error
// "[chat_template] line L, column C: ...".
std::string apply_chat_template(const std::string& template_source, const nlohmann::ordered_json& messages,
                                bool add_generation_prompt, const nlohmann::ordered_json& extra = {});

// Same, for callers holding nlohmann::json, whose objects keep keys sorted rather than in insertion order.
std::string apply_chat_template(const std::string& template_source, const nlohmann::json& messages,
                                bool add_generation_prompt, const nlohmann::json& extra = {});

}  // namespace glint
