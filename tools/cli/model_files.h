// The files of a model folder besides its weights and config.json: what a folder made from it (a fine-tuned,
// merged or quantised model) copies so that it loads on its own.
#pragma once
#include <filesystem>

namespace glint::cli {

// Tokenizer (tokenizer.json or the legacy files), chat template and generation config.
inline constexpr const char* kCompanionFiles[] = {"generation_config.json",
                                                  "tokenizer.json",
                                                  "tokenizer_config.json",
                                                  "special_tokens_map.json",
                                                  "tokenizer.model",
                                                  "vocab.json",
                                                  "merges.txt",
                                                  "vocab.txt",
                                                  "added_tokens.json",
                                                  "chat_template.jinja",
                                                  "chat_template.json"};

// Copies those of kCompanionFiles that model folder `from` has into `to`; returns how many.
inline int copy_companion_files(const std::filesystem::path& from, const std::filesystem::path& to) {
  int copied = 0;
  for (const char* name : kCompanionFiles) {
    if (!std::filesystem::exists(from / name)) continue;
    std::filesystem::copy_file(from / name, to / name, std::filesystem::copy_options::overwrite_existing);
    ++copied;
  }
  return copied;
}

}  // namespace glint::cli
