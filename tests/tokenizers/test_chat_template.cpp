// Chat-template parity: every template in tests/data/chat_templates rendered over every conversation must be
// byte-identical to transformers' apply_chat_template (fixtures from tools/make_chat_template_fixtures.py), and
// must fail where transformers raised.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "models/tokenizers/chat_template.h"
#include "models/tokenizers/tokenizer.h"
#include "tests/harness.h"
#include "runtime/core/error.h"

namespace {

using nlohmann::ordered_json;
using glint::Tokenizer;

std::filesystem::path data_dir() { return std::filesystem::path(__FILE__).parent_path() / "../data/chat_templates"; }

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << p;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

ordered_json fixtures() { return ordered_json::parse(read_file(data_dir() / "fixtures.json")); }

TEST(ChatTemplateParity, FixturesCoverTheRequiredTemplatesAndConversations) {
  ordered_json f = fixtures();
  EXPECT_GE(f["conversations"].size(), 20u);
  for (const char* name : {"qwen3", "llama-3.2", "llama-3.3", "mistral-v0.3", "chatml", "gemma-2", "phi-3.5"})
    EXPECT_TRUE(f["special_tokens"].contains(name)) << name;
  EXPECT_FALSE(f["versions"]["transformers"].get<std::string>().empty());
  EXPECT_FALSE(f["versions"]["jinja2"].get<std::string>().empty());
}

TEST(ChatTemplateParity, EveryTemplateAndConversationMatchesTransformers) {
  ordered_json f = fixtures();
  std::map<std::string, ordered_json> conversations;
  for (const auto& c : f["conversations"]) conversations[c["name"].get<std::string>()] = c;
  size_t matched = 0, failed_as_expected = 0;
  for (const auto& r : f["renderings"]) {
    const std::string tname = r["template"].get<std::string>();
    const std::string cname = r["conversation"].get<std::string>();
    SCOPED_TRACE(tname + " x " + cname);
    const ordered_json& conv = conversations.at(cname);
    ordered_json extra = f["special_tokens"][tname];
    if (f["fixed_variables"].contains(tname))
      for (const auto& [k, v] : f["fixed_variables"][tname].items()) extra[k] = v;
    for (const auto& [k, v] : conv["extra"].items()) extra[k] = v;
    std::string source = read_file(data_dir() / (tname + ".jinja"));
    if (r.contains("error")) {
      try {
        std::string out =
            glint::apply_chat_template(source, conv["messages"], conv["add_generation_prompt"].get<bool>(), extra);
        ADD_FAILURE() << "transformers raised " << r["error_type"] << ": " << r["error"] << "\nbut glint rendered:\n"
                      << out;
      } catch (const glint::Error& e) {
        std::string what = e.what();
        EXPECT_NE(what.find("[chat_template]"), std::string::npos) << what;
        if (r["error_type"] == "TemplateError")  // raise_exception: the template's own message must come through
          EXPECT_NE(what.find(r["error"].get<std::string>()), std::string::npos) << what;
        ++failed_as_expected;
      }
      continue;
    }
    try {
      std::string out =
          glint::apply_chat_template(source, conv["messages"], conv["add_generation_prompt"].get<bool>(), extra);
      EXPECT_EQ(out, r["output"].get<std::string>());
      matched += out == r["output"].get<std::string>();
    } catch (const glint::Error& e) {
      ADD_FAILURE() << "glint failed: " << e.what();
    }
  }
  EXPECT_EQ(matched + failed_as_expected, f["renderings"].size());
  std::printf("chat templates: %zu renderings byte-identical, %zu errors matched\n", matched, failed_as_expected);
}

TEST(ChatTemplateParity, TokenizerRendersItsOwnTemplateLikeTransformers) {
  // The Qwen3 tokenizer folder (tokenizer.json + tokenizer_config.json): its template and special tokens, through
  // Tokenizer::apply_chat_template, match transformers on every conversation of the fixtures.
  Tokenizer tok = Tokenizer::from_pretrained((data_dir() / "../tokenizers/qwen3").string());
  ordered_json f = fixtures();
  std::map<std::string, ordered_json> conversations;
  for (const auto& c : f["conversations"]) conversations[c["name"].get<std::string>()] = c;
  size_t checked = 0;
  for (const auto& r : f["renderings"]) {
    if (r["template"] != "qwen3" || r.contains("error")) continue;
    const ordered_json& conv = conversations.at(r["conversation"].get<std::string>());
    SCOPED_TRACE(r["conversation"].get<std::string>());
    EXPECT_EQ(tok.apply_chat_template(conv["messages"], conv["add_generation_prompt"].get<bool>(), conv["extra"]),
              r["output"].get<std::string>());
    ++checked;
  }
  EXPECT_GE(checked, 20u);
  EXPECT_GLINT_ERROR(tok.apply_chat_template(ordered_json::array(), true, {}, "tool_use"), "[chat_template]");
  Tokenizer bert = Tokenizer::from_pretrained((data_dir() / "../tokenizers/bert-base-uncased").string());
  EXPECT_GLINT_ERROR(bert.apply_chat_template(ordered_json::array(), true), "has no chat template");
}

TEST(ChatTemplateApi, SortedJsonOverloadAndErrors) {
  nlohmann::json messages = nlohmann::json::array({{{"role", "user"}, {"content", "x"}}});
  std::string tpl = "{% for m in messages %}{{ m.role }}:{{ m.content }}{% endfor %}{{ bos_token }}";
  EXPECT_EQ(glint::apply_chat_template(tpl, messages, false, nlohmann::json{{"bos_token", "<s>"}}), "user:x<s>");
  EXPECT_THROW(glint::apply_chat_template(tpl, nlohmann::json::array(), false), glint::Error);
  EXPECT_THROW(glint::apply_chat_template(tpl, nlohmann::json::object(), false), glint::Error);
  EXPECT_THROW(glint::apply_chat_template(tpl, nlohmann::json::array({1}), false), glint::Error);
}

TEST(ChatTemplateApi, DropsNullKeysAndAliasesReasoningLikeTransformers) {
  auto messages = ordered_json::parse(R"([{"role": "assistant", "content": null, "reasoning": "r"}])");
  std::string tpl = "{{ messages[0] | tojson }}|{{ messages[0].content is defined }}";
  EXPECT_EQ(glint::apply_chat_template(tpl, messages, false),
            R"({"thinking": "r", "role": "assistant", "reasoning": "r", "reasoning_content": "r"}|False)");
}

TEST(ChatTemplateApi, ToolsAndDocumentsDefaultToNone) {
  auto messages = ordered_json::parse(R"([{"role": "user", "content": "x"}])");
  EXPECT_EQ(glint::apply_chat_template(
                "{{ tools is defined }} {{ tools is none }} {{ documents is none }} {{ add_generation_prompt }}",
                messages, true),
            "True True True True");
}

}  // namespace
