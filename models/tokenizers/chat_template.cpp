#include "models/tokenizers/chat_template.h"

#include "models/tokenizers/jinja/template.h"
#include "runtime/core/error.h"

namespace glint {
namespace {

using nlohmann::ordered_json;

// transformers drops message keys whose value is None before rendering (many templates print "None" otherwise).
ordered_json drop_null_keys(const ordered_json& message) {
  ordered_json out = ordered_json::object();
  for (const auto& [k, v] : message.items())
    if (!v.is_null()) out[k] = v;
  return out;
}

// transformers fills `reasoning_content` from older names for it (thinking, reasoning) and `thinking` for
// templates that read that name: {"thinking": r, **message, "reasoning_content": r}.
ordered_json alias_reasoning(const ordered_json& message) {
  static const char* kFields[] = {"reasoning_content", "thinking", "reasoning"};
  const ordered_json* reasoning = nullptr;
  for (const char* f : kFields) {
    auto it = message.find(f);
    if (it != message.end() && !it->is_null()) {
      reasoning = &*it;
      break;
    }
  }
  if (!reasoning) return message;
  ordered_json out = ordered_json::object();
  out["thinking"] = *reasoning;
  for (const auto& [k, v] : message.items()) out[k] = v;
  out["reasoning_content"] = *reasoning;
  return out;
}

}  // namespace

std::string apply_chat_template(const std::string& template_source, const ordered_json& messages,
                                bool add_generation_prompt, const ordered_json& extra) {
  if (!messages.is_array()) fail("chat_template", "messages must be a JSON array of message objects");
  if (messages.empty())
    fail("chat_template", "Cannot apply chat template to an empty conversation. Provide at least one message.");
  if (!extra.is_null() && !extra.is_object()) fail("chat_template", "extra template variables must be a JSON object");
  std::vector<jinja::Value> chat;
  for (const auto& m : messages) {
    if (!m.is_object()) fail("chat_template", "Chat messages should be dicts, but got ", m.dump());
    chat.push_back(jinja::Value::from_json(alias_reasoning(drop_null_keys(m))));
  }
  auto from_extra = [&](const char* key) {
    return extra.is_object() && extra.contains(key) ? jinja::Value::from_json(extra[key]) : jinja::Value::none();
  };
  std::vector<std::pair<std::string, jinja::Value>> vars;
  if (extra.is_object())
    for (const auto& [k, v] : extra.items()) vars.emplace_back(k, jinja::Value::from_json(v));
  vars.emplace_back("messages", jinja::Value::list(std::move(chat)));
  vars.emplace_back("tools", from_extra("tools"));
  vars.emplace_back("documents", from_extra("documents"));
  vars.emplace_back("add_generation_prompt", jinja::Value(add_generation_prompt));
  return jinja::Template(template_source, "chat_template").render(vars);
}

std::string apply_chat_template(const std::string& template_source, const nlohmann::json& messages,
                                bool add_generation_prompt, const nlohmann::json& extra) {
  ordered_json ordered_messages, ordered_extra;
  try {
    ordered_messages = ordered_json::parse(messages.dump());
    if (!extra.is_null()) ordered_extra = ordered_json::parse(extra.dump());
  } catch (const nlohmann::json::exception& e) {
    fail("chat_template", "messages or extra variables are not valid JSON text: ", e.what());
  }
  return apply_chat_template(template_source, ordered_messages, add_generation_prompt, ordered_extra);
}

}  // namespace glint
