// Tokenizer folders without tokenizer.json: GPT-2's vocab.json + merges.txt and BERT's vocab.txt, built as the
// tokenizer.json that transformers' converters (GPT2Converter, BertConverter) would produce; plus
// tokenizer_config.json / special_tokens_map.json.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "models/tokenizers/tokenizer.h"
#include "runtime/core/error.h"
#include "runtime/io/hf_configs.h"

namespace glint {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("tokenizer", path, ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

json read_json(const std::string& path) {
  json j = json::parse(read_file(path), nullptr, false);
  if (j.is_discarded()) fail("tokenizer", path, ": not valid JSON");
  return j;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
    out.push_back(std::move(line));
  }
  return out;
}

json special_added(const std::string& content, uint32_t id) {
  return {{"id", id},        {"content", content},  {"single_word", false}, {"lstrip", false},
          {"rstrip", false}, {"normalized", false}, {"special", true}};
}

}  // namespace

namespace {

// Keeps what the tokenizer uses of a parsed tokenizer_config.json (`ic`, unset when there is none) and the special
// tokens of special_tokens_map.json (`special`, which tokenizer_config.json's entries override).
TokenizerConfig config_from(const std::optional<io::TokenizerConfig>& ic, io::SpecialTokens special) {
  TokenizerConfig c;
  if (ic) {
    for (auto& [name, spec] : ic->special.named) special.named[name] = spec;
    c.raw = ic->file.json;
    c.chat_template = ic->chat_template.value_or("");
    c.named_chat_templates.assign(ic->named_chat_templates.begin(), ic->named_chat_templates.end());
    c.padding_side = ic->padding_side == "left" ? Side::kLeft : Side::kRight;
    c.truncation_side = ic->truncation_side == "left" ? Side::kLeft : Side::kRight;
    if (ic->model_max_length && *ic->model_max_length > 0) c.model_max_length = size_t(*ic->model_max_length);
  }
  if (!c.raw.is_object()) c.raw = json::object();
  c.bos_token = special.content("bos");
  c.eos_token = special.content("eos");
  c.unk_token = special.content("unk");
  c.pad_token = special.content("pad");
  c.sep_token = special.content("sep");
  c.cls_token = special.content("cls");
  c.mask_token = special.content("mask");
  if (auto it = c.raw.find("do_lower_case"); it != c.raw.end() && it->is_boolean()) c.do_lower_case = it->get<bool>();
  return c;
}

}  // namespace

TokenizerConfig read_tokenizer_config(const std::string& folder) {
  // The files are parsed by runtime/io (one reader for every HF config); this keeps what the tokenizer uses.
  fs::path dir(folder);
  io::SpecialTokens special;
  if (fs::exists(dir / "special_tokens_map.json")) special = io::load_special_tokens_map(folder);
  std::optional<io::TokenizerConfig> ic;
  if (fs::exists(dir / "tokenizer_config.json")) ic = io::load_tokenizer_config(folder);
  return config_from(ic, std::move(special));
}

TokenizerConfig tokenizer_config_from_json(const json& j, const std::string& source) {
  return config_from(io::tokenizer_config_from_json(io::json_object(j, source, "tokenizer")), {});
}

Tokenizer Tokenizer::from_gpt2_files(const std::string& vocab_json, const std::string& merges_txt) {
  json vocab = read_json(vocab_json);
  if (!vocab.is_object()) fail("tokenizer", vocab_json, ": expected an object token -> id");
  json merges = json::array();
  for (const std::string& line : lines_of(read_file(merges_txt))) {
    if (line.empty() || line.rfind("#version", 0) == 0) continue;
    size_t sp = line.find(' ');
    if (sp == std::string::npos || line.find(' ', sp + 1) != std::string::npos)
      fail("tokenizer", merges_txt, ": line '", line, "' is not two tokens separated by one space");
    merges.push_back(line);
  }
  json added = json::array();
  if (auto it = vocab.find("<|endoftext|>"); it != vocab.end() && it->is_number_unsigned())
    added.push_back(special_added("<|endoftext|>", it->get<uint32_t>()));
  json j = {{"added_tokens", added},
            {"normalizer", nullptr},
            {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
            {"post_processor", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}}},
            {"decoder", {{"type", "ByteLevel"}}},
            {"model",
             {{"type", "BPE"},
              {"vocab", std::move(vocab)},
              {"merges", std::move(merges)},
              {"continuing_subword_prefix", ""},
              {"end_of_word_suffix", ""},
              {"fuse_unk", false}}}};
  return from_json(j, vocab_json);
}

Tokenizer Tokenizer::from_bert_vocab(const std::string& vocab_txt, bool lowercase) {
  json vocab = json::object();
  std::vector<std::string> lines = lines_of(read_file(vocab_txt));
  for (size_t i = 0; i < lines.size(); ++i) vocab[lines[i]] = i;
  json added = json::array();
  for (const char* s : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"})
    if (vocab.contains(s)) added.push_back(special_added(s, vocab[s].get<uint32_t>()));
  for (const char* s : {"[UNK]", "[CLS]", "[SEP]"})
    if (!vocab.contains(s)) fail("tokenizer", vocab_txt, ": BERT vocabulary has no ", s, " token");
  auto entry = [&](const char* s) { return json{{"id", s}, {"ids", {vocab[s]}}, {"tokens", {s}}}; };
  json j = {{"added_tokens", added},
            {"normalizer",
             {{"type", "BertNormalizer"},
              {"clean_text", true},
              {"handle_chinese_chars", true},
              {"strip_accents", nullptr},
              {"lowercase", lowercase}}},
            {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
            {"post_processor",
             {{"type", "TemplateProcessing"},
              {"single", "[CLS]:0 $A:0 [SEP]:0"},
              {"special_tokens", {{"[CLS]", entry("[CLS]")}, {"[SEP]", entry("[SEP]")}}}}},
            {"decoder", {{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", true}}},
            {"model",
             {{"type", "WordPiece"},
              {"vocab", std::move(vocab)},
              {"unk_token", "[UNK]"},
              {"continuing_subword_prefix", "##"},
              {"max_input_chars_per_word", 100}}}};
  Tokenizer t = from_json(j, vocab_txt);
  if (auto pad = t.token_to_id("[PAD]")) {  // BertTokenizer's default pad token
    t.pad_id_ = *pad;
    t.pad_token_ = "[PAD]";
  }
  return t;
}

Tokenizer Tokenizer::from_pretrained(const std::string& folder) {
  fs::path dir(folder);
  if (fs::is_regular_file(dir) && dir.extension() == ".json") return from_file(folder);
  if (!fs::is_directory(dir)) fail("tokenizer", folder, ": no such folder or tokenizer.json");
  TokenizerConfig config = read_tokenizer_config(folder);
  Tokenizer t;
  if (fs::exists(dir / "tokenizer.json")) {
    t = from_file((dir / "tokenizer.json").string());
  } else if (fs::exists(dir / "vocab.json") && fs::exists(dir / "merges.txt")) {
    t = from_gpt2_files((dir / "vocab.json").string(), (dir / "merges.txt").string());
  } else if (fs::exists(dir / "vocab.txt")) {
    t = from_bert_vocab((dir / "vocab.txt").string(), config.do_lower_case.value_or(true));
  } else {
    fail("tokenizer", folder, ": no tokenizer.json, vocab.json + merges.txt or vocab.txt found");
  }
  t.set_config(std::move(config));
  return t;
}

}  // namespace glint
