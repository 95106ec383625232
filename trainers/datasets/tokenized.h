// Tokenise-and-cache: the token ids of a dataset (and optional labels) in one memory-mapped file, so a second run
// with the same inputs skips tokenisation. The file's name is a fingerprint of everything that decides its
// content — the dataset's cells, the tokenizer's identity, and the tokenise function's name, version and options —
// so any change makes a new file and a stale one is never read.
//
//   auto tok = glint::Tokenizer::from_pretrained(dir);
//   auto tds = TokenizedDataset::build(ds, text_tokenize_fn(tok, "text"),
//                                      {.tokenizer_id = tokenizer_fingerprint(dir), .function = "text@1"});
//   std::span<const int32_t> ids = tds.ids(0);
//
// The data part of the key is the dataset's content (Dataset::fingerprint), not its file names: it is what the
// data files were read into, after any map/filter, so edits to the files and to the processing both change it,
// at the cost of hashing the cells (far cheaper than tokenising them).
//
// File layout (native little-endian): a 96-byte header {"GLINTTOK", version u32, flags u32 (1 = labels),
// rows u64, tokens u64, fingerprint char[64]}, then offsets u64[rows + 1], ids i32[tokens], labels i32[tokens].
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "models/tokenizers/tokenizer.h"
#include "trainers/datasets/dataset.h"

namespace glint::io {
class MappedFile;
}

namespace glint::datasets {

// One row's tokens, and its labels (-100 where the loss ignores a token) or none.
struct TokenizedRow {
  std::vector<int32_t> ids;
  std::vector<int32_t> labels;  // empty, or one per id
  // Position ids: empty for 0, 1, 2, ...; a packed row of several examples restarts them at each example (and
  // attention stays within an example: train::collate).
  std::vector<int32_t> positions;
};

// Tokenises a batch of rows (JSON objects), one TokenizedRow per row.
using TokenizeFn = std::function<std::vector<TokenizedRow>(const std::vector<Value>& rows)>;

// What the cache is keyed by, besides the data.
struct TokenizeSpec {
  std::string tokenizer_id;         // tokenizer_fingerprint(path), or any string that changes with the tokenizer
  std::string function;             // the function's name and version ("sft_text@1"): bump it when its code changes
  Value options = Value::object();  // the function's options (max length, templates, ...)
  size_t batch_size = 1000;         // rows per call of the function
  std::string cache_dir;            // "" = default_cache_dir()
};

// $GLINT_CACHE_DIR/datasets, else $XDG_CACHE_HOME/glint/datasets, else ~/.cache/glint/datasets (the Vulkan pipeline
// cache's order).
std::string default_cache_dir();

// The cache key of `ds` tokenised as `spec` says (64 hex digits).
std::string tokenize_fingerprint(const Dataset& ds, const TokenizeSpec& spec);

// A TokenizeFn that encodes the string column `column` with `tokenizer` (copied), in parallel per batch.
TokenizeFn text_tokenize_fn(const Tokenizer& tokenizer, std::string column, bool add_special_tokens = true);

class TokenizedDataset {
 public:
  // Maps the cache file for (ds, spec) if it exists and is sound; else calls `fn` over every row, writes the file
  // atomically and maps it.
  static TokenizedDataset build(const Dataset& ds, const TokenizeFn& fn, const TokenizeSpec& spec);
  // Maps a cache file; throws "[datasets] <path>: ..." when it is not one or is damaged.
  static TokenizedDataset open(const std::string& path);

  size_t num_rows() const { return rows_; }
  size_t num_tokens() const { return tokens_; }
  bool has_labels() const { return labels_ != nullptr; }
  // Row i's token ids / labels (empty without labels), borrowed from the mapping.
  std::span<const int32_t> ids(size_t i) const;
  std::span<const int32_t> labels(size_t i) const;
  // Every row's tokens back to back; row i is [offsets()[i], offsets()[i + 1]).
  std::span<const int32_t> all_ids() const { return {ids_, tokens_}; }
  std::span<const uint64_t> offsets() const { return {offsets_, rows_ + 1}; }
  const std::string& path() const { return path_; }
  const std::string& fingerprint() const { return fingerprint_; }
  // Whether build() found the file made by an earlier call rather than tokenising.
  bool from_cache() const { return from_cache_; }

 private:
  std::shared_ptr<io::MappedFile> file_;
  std::string path_, fingerprint_;
  size_t rows_ = 0, tokens_ = 0;
  const uint64_t* offsets_ = nullptr;
  const int32_t* ids_ = nullptr;
  const int32_t* labels_ = nullptr;
  bool from_cache_ = false;
};

}  // namespace glint::datasets
