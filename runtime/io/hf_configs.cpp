#include "runtime/io/hf_configs.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "runtime/core/error.h"

namespace glint::io {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {
std::string in_folder(const std::string& file_or_folder, const char* name) {
  return fs::is_directory(file_or_folder) ? (fs::path(file_or_folder) / name).string() : file_or_folder;
}
}  // namespace

ModelConfig model_config_from_json(const JsonFile& file) {
  ModelConfig c{file, file.get_or<std::string>("model_type", ""),
                file.get_or<std::vector<std::string>>("architectures", {}), ""};
  // transformers 5 writes "dtype"; older versions "torch_dtype".
  c.dtype = file.get_or<std::string>("dtype", file.get_or<std::string>("torch_dtype", ""));
  return c;
}

ModelConfig load_model_config(const std::string& p) {
  return model_config_from_json(load_json(in_folder(p, "config.json")));
}

GenerationConfig generation_config_from_json(const JsonFile& f) {
  GenerationConfig g;
  g.file = f;
  g.max_length = f.get_or("max_length", g.max_length);
  g.max_new_tokens = f.get_opt<int64_t>("max_new_tokens");
  g.min_length = f.get_or("min_length", g.min_length);
  g.min_new_tokens = f.get_opt<int64_t>("min_new_tokens");
  g.do_sample = f.get_or("do_sample", g.do_sample);
  g.num_beams = f.get_or("num_beams", g.num_beams);
  g.temperature = f.get_or("temperature", g.temperature);
  g.top_k = f.get_or("top_k", g.top_k);
  g.top_p = f.get_or("top_p", g.top_p);
  g.min_p = f.get_opt<double>("min_p");
  g.typical_p = f.get_or("typical_p", g.typical_p);
  g.repetition_penalty = f.get_or("repetition_penalty", g.repetition_penalty);
  g.length_penalty = f.get_or("length_penalty", g.length_penalty);
  g.no_repeat_ngram_size = f.get_or("no_repeat_ngram_size", g.no_repeat_ngram_size);
  g.num_return_sequences = f.get_or("num_return_sequences", g.num_return_sequences);
  g.use_cache = f.get_or("use_cache", g.use_cache);
  if (f.has("eos_token_id")) {
    const json& eos = f.json["eos_token_id"];
    g.eos_token_ids = eos.is_array() ? f.convert<std::vector<int64_t>>(eos, "eos_token_id")
                                     : std::vector<int64_t>{f.convert<int64_t>(eos, "eos_token_id")};
  }
  g.bos_token_id = f.get_opt<int64_t>("bos_token_id");
  g.pad_token_id = f.get_opt<int64_t>("pad_token_id");
  g.decoder_start_token_id = f.get_opt<int64_t>("decoder_start_token_id");
  return g;
}

GenerationConfig load_generation_config(const std::string& p) {
  return generation_config_from_json(load_json(in_folder(p, "generation_config.json")));
}

TokenSpec token_spec_from_json(const JsonFile& f, const json& v, std::string_view key) {
  if (v.is_string()) return {v.get<std::string>(), false, false, false, false, true};
  if (!v.is_object())
    fail(f.area, f.where, ": key '", key, "' should be a token string or an AddedToken object, found ",
         describe_json(v));
  JsonFile t{f.where + ": " + std::string(key), v, f.area};
  TokenSpec s;
  s.content = t.get<std::string>("content");
  s.single_word = t.get_or("single_word", false);
  s.lstrip = t.get_or("lstrip", false);
  s.rstrip = t.get_or("rstrip", false);
  s.special = t.get_or("special", true);
  s.normalized = t.get_or("normalized", !s.special);  // the tokenizers library's default
  return s;
}

std::optional<std::string> SpecialTokens::content(const std::string& name) const {
  auto it = named.find(name);
  if (it == named.end()) return std::nullopt;
  return it->second.content;
}

SpecialTokens special_tokens_from_json(const JsonFile& f) {
  SpecialTokens s;
  for (const char* name : {"bos", "eos", "unk", "sep", "pad", "cls", "mask"}) {
    std::string key = std::string(name) + "_token";
    if (f.has(key)) s.named[name] = token_spec_from_json(f, f.json[key], key);
  }
  // transformers 5 renamed additional_special_tokens to extra_special_tokens, which may also map names to tokens.
  for (const char* key : {"additional_special_tokens", "extra_special_tokens"}) {
    if (!f.has(key)) continue;
    const json& list = f.json[key];
    if (list.is_object()) {
      for (const auto& [name, tok] : list.items()) s.named[name] = token_spec_from_json(f, tok, key);
      continue;
    }
    if (!list.is_array())
      fail(f.area, f.where, ": key '", key, "' should be a list of tokens, found ", describe_json(list));
    for (const json& tok : list) s.additional.push_back(token_spec_from_json(f, tok, key));
  }
  return s;
}

SpecialTokens load_special_tokens_map(const std::string& p) {
  return special_tokens_from_json(load_json(in_folder(p, "special_tokens_map.json")));
}

namespace {
void read_chat_templates(TokenizerConfig& c, const json& v) {
  const JsonFile& f = c.file;
  if (v.is_string()) {
    c.chat_template = v.get<std::string>();
    return;
  }
  if (!v.is_array())
    fail(f.area, f.where, ": key 'chat_template' should be a string or a list of {name, template}, found ",
         describe_json(v));
  for (const json& item : v) {
    if (!item.is_object())
      fail(f.area, f.where, ": key 'chat_template' lists ", describe_json(item), ", not a {name, template} object");
    JsonFile t{f.where + ": chat_template", item, f.area};
    std::string name = t.get<std::string>("name"), text = t.get<std::string>("template");
    if (name == "default")
      c.chat_template = text;
    else
      c.named_chat_templates[name] = text;
  }
}

std::optional<std::string> read_text_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

TokenizerConfig tokenizer_config_from_json(const JsonFile& f) {
  TokenizerConfig c;
  c.file = f;
  c.special = special_tokens_from_json(f);
  if (f.has("added_tokens_decoder")) {
    JsonFile dec = f.sub("added_tokens_decoder");
    for (const auto& [id, tok] : dec.json.items()) {
      size_t used = 0;
      int64_t n = -1;
      try {
        n = std::stoll(id, &used);
      } catch (const std::exception&) {
      }
      if (n < 0 || used != id.size()) fail(f.area, f.where, ": added_tokens_decoder key '", id, "' is not a token id");
      c.added_tokens_decoder[n] = token_spec_from_json(dec, tok, id);
    }
  }
  if (f.has("chat_template")) read_chat_templates(c, f.json["chat_template"]);
  // transformers writes int(1e30) when a tokenizer has no limit: the number does not fit in 64 bits.
  if (f.has("model_max_length")) {
    const json& m = f.json["model_max_length"];
    if (m.is_number_float() && m.get<double>() >= 9.0e18)
      c.model_max_length = std::nullopt;
    else
      c.model_max_length = f.convert<int64_t>(m, "model_max_length");
  }
  c.padding_side = f.get_or<std::string>("padding_side", c.padding_side);
  c.truncation_side = f.get_or<std::string>("truncation_side", c.truncation_side);
  for (const auto& [side, key] : {std::pair{&c.padding_side, "padding_side"}, {&c.truncation_side, "truncation_side"}})
    if (*side != "left" && *side != "right")
      fail(f.area, f.where, ": key '", key, "' should be \"left\" or \"right\", found \"", *side, "\"");
  c.add_bos_token = f.get_opt<bool>("add_bos_token");
  c.add_eos_token = f.get_opt<bool>("add_eos_token");
  c.clean_up_tokenization_spaces = f.get_opt<bool>("clean_up_tokenization_spaces");
  c.tokenizer_class = f.get_or<std::string>("tokenizer_class", "");
  return c;
}

TokenizerConfig load_tokenizer_config(const std::string& p) {
  std::string path = in_folder(p, "tokenizer_config.json");
  TokenizerConfig c = tokenizer_config_from_json(load_json(path));
  // Newer transformers saves the template beside the config, and that file wins.
  fs::path dir = fs::path(path).parent_path();
  if (auto jinja = read_text_file(dir / "chat_template.jinja")) {
    c.chat_template = *jinja;
  } else if (fs::exists(dir / "chat_template.json")) {
    JsonFile t = load_json((dir / "chat_template.json").string());
    c.chat_template = t.get<std::string>("chat_template");
  }
  return c;
}

ModelIndex model_index_from_json(const JsonFile& f) {
  ModelIndex m;
  m.file = f;
  m.class_name = f.get<std::string>("_class_name");
  m.diffusers_version = f.get_or<std::string>("_diffusers_version", "");
  for (const auto& [name, v] : f.json.items()) {
    // Keys that are not lists are pipeline options ("requires_safety_checker": true), not components.
    if (name.starts_with("_") || !v.is_array()) continue;
    // Optional components a pipeline was saved without are written as [null, null].
    if (v.is_array() && v.size() == 2 && v[0].is_null() && v[1].is_null()) continue;
    if (v.size() != 2 || !v[0].is_string() || !v[1].is_string())
      fail(f.area, f.where, ": component '", name, "' should be [library, class], found ", describe_json(v));
    m.components[name] = {v[0].get<std::string>(), v[1].get<std::string>()};
  }
  return m;
}

ModelIndex load_model_index(const std::string& p) {
  return model_index_from_json(load_json(in_folder(p, "model_index.json")));
}

}  // namespace glint::io
