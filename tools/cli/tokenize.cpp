// `glint tokenize MODEL_OR_TOKENIZER "text"`: the ids and tokens of a text (--json for machines).
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "models/tokenizers/tokenizer.h"
#include "tools/cli/commands.h"
#include "runtime/io/hub.h"

namespace glint::cli {
namespace {

struct TokenizeArgs {
  std::string model, text;
  bool json = false, no_special = false;
};

Tokenizer load(const std::string& model) {
  // Local paths pass through; org/name goes through the hub cache. A tokenizer.json file works too.
  std::string path = io::resolve_model(model);
  return Tokenizer::from_pretrained(path);
}

// Tokens are shown as the text they cover (byte-level and metaspace alphabets are unreadable); special tokens
// the post-processor added cover nothing and are shown by name.
std::string shown(const Encoding& e, size_t i, const std::string& text) {
  auto [s, t] = e.offsets[i];
  if (e.special_tokens_mask[i] || t <= s) return e.tokens[i];
  return text.substr(s, t - s);
}

void run(const TokenizeArgs& a) {
  Tokenizer tok = load(a.model);
  Encoding e = tok.encode(a.text, !a.no_special);
  if (a.json) {
    nlohmann::json j = {{"ids", e.ids}, {"tokens", e.tokens}, {"offsets", e.offsets}};
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return;
  }
  std::printf("%zu tokens\nids:", e.size());
  for (uint32_t id : e.ids) std::printf(" %u", id);
  std::printf("\n");
  for (size_t i = 0; i < e.size(); ++i) {
    nlohmann::json covered = shown(e, i, a.text);
    std::printf("%8u  %-24s %s\n", e.ids[i],
                nlohmann::json(e.tokens[i]).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str(),
                covered.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  }
}

void add_tokenize_command(CLI::App& app) {
  auto args = std::make_shared<TokenizeArgs>();
  auto* cmd = app.add_subcommand("tokenize", "Print the token ids and tokens of a text");
  cmd->add_option("model", args->model,
                  "A folder with tokenizer.json (or vocab.json + merges.txt, or vocab.txt), a tokenizer.json file"
#ifdef GLINT_HAVE_HUB
                  ", or a model id in the Hugging Face cache"
#endif
                  )
      ->required();
  cmd->add_option("text", args->text, "The text to encode")->required();
  cmd->add_flag("--json", args->json, "Print {ids, tokens, offsets} as JSON (offsets in bytes of the text)");
  cmd->add_flag("--no-special", args->no_special, "Do not add the special tokens of the post-processor");
  cmd->callback([args] { run(*args); });
}

const CommandRegistration reg(add_tokenize_command);

}  // namespace
}  // namespace glint::cli
