// Tokenizer::apply_chat_template: the tokenizer's own template and special tokens, rendered by chat_template.cpp.
#include "models/tokenizers/chat_template.h"
#include "models/tokenizers/tokenizer.h"
#include "runtime/core/error.h"

namespace glint {

std::string Tokenizer::apply_chat_template(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                                           const nlohmann::ordered_json& extra,
                                           const std::string& template_name) const {
  const std::string* source = &config_.chat_template;
  if (!template_name.empty()) {
    source = nullptr;
    for (const auto& [name, text] : config_.named_chat_templates)
      if (name == template_name) source = &text;
    if (!source) fail("chat_template", "the tokenizer has no chat template named '", template_name, "'");
  }
  if (source->empty()) fail("chat_template", "the tokenizer has no chat template (tokenizer_config.json 'chat_template')");
  nlohmann::ordered_json vars = extra.is_object() ? extra : nlohmann::ordered_json::object();
  const std::pair<const char*, const std::optional<std::string>*> tokens[] = {
      {"bos_token", &config_.bos_token}, {"eos_token", &config_.eos_token}, {"unk_token", &config_.unk_token},
      {"pad_token", &config_.pad_token}, {"sep_token", &config_.sep_token}, {"cls_token", &config_.cls_token},
      {"mask_token", &config_.mask_token}};
  for (const auto& [key, value] : tokens)
    if (*value && !vars.contains(key)) vars[key] = **value;
  return glint::apply_chat_template(*source, messages, add_generation_prompt, vars);
}

}  // namespace glint
