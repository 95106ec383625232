#include "trainers/datasets/tokenized.h"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "runtime/core/error.h"
#include "runtime/io/atomic_file.h"
#include "runtime/io/mapped_file.h"
#include "trainers/datasets/fingerprint.h"

namespace glint::datasets {
namespace {

constexpr char kMagic[8] = {'G', 'L', 'I', 'N', 'T', 'T', 'O', 'K'};
constexpr uint32_t kVersion = 1;
constexpr uint32_t kHasLabels = 1;

struct Header {
  char magic[8];
  uint32_t version;
  uint32_t flags;
  uint64_t rows;
  uint64_t tokens;
  char fingerprint[64];
};
static_assert(sizeof(Header) == 96);

void write_cache(const std::string& path, const std::string& fingerprint, const std::vector<uint64_t>& offsets,
                 const std::vector<int32_t>& ids, const std::vector<int32_t>& labels, bool has_labels) {
  Header h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.version = kVersion;
  h.flags = has_labels ? kHasLabels : 0;
  h.rows = offsets.size() - 1;
  h.tokens = ids.size();
  std::memcpy(h.fingerprint, fingerprint.data(), std::min(fingerprint.size(), sizeof h.fingerprint));
  io::AtomicFile f(path, "datasets");
  f.write(&h, sizeof h);
  f.write(offsets.data(), offsets.size() * sizeof(uint64_t));
  f.write(ids.data(), ids.size() * sizeof(int32_t));
  if (has_labels) f.write(labels.data(), labels.size() * sizeof(int32_t));
  f.commit();
}

}  // namespace

std::string default_cache_dir() {
  namespace fs = std::filesystem;
  if (const char* d = std::getenv("GLINT_CACHE_DIR"); d && *d) return (fs::path(d) / "datasets").string();
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return (fs::path(x) / "glint" / "datasets").string();
  if (const char* h = std::getenv("HOME"); h && *h) return (fs::path(h) / ".cache" / "glint" / "datasets").string();
  fail("datasets", "no cache folder: set GLINT_CACHE_DIR (or HOME)");
}

std::string tokenize_fingerprint(const Dataset& ds, const TokenizeSpec& spec) {
  GLINT_CHECK(!spec.tokenizer_id.empty(), "datasets",
              "tokenize: TokenizeSpec.tokenizer_id is empty (use "
              "tokenizer_fingerprint(path))");
  GLINT_CHECK(!spec.function.empty(), "datasets", "tokenize: TokenizeSpec.function is empty (give name@version)");
  Sha256 h;
  h.update_field("glint.datasets.tokenized/1");
  h.update_field(ds.fingerprint());
  h.update_field(spec.tokenizer_id);
  h.update_field(spec.function);
  h.update_field(spec.options.dump());
  return h.hex_digest();
}

TokenizeFn text_tokenize_fn(const Tokenizer& tokenizer, std::string column, bool add_special_tokens) {
  return [tokenizer, column = std::move(column), add_special_tokens](const std::vector<Value>& rows) {
    std::vector<std::string> texts;
    texts.reserve(rows.size());
    for (const auto& r : rows) {
      auto it = r.find(column);
      GLINT_CHECK(it != r.end() && it->is_string(), "datasets", "tokenize: column '", column,
                  "' is missing or not a string in a row");
      texts.push_back(it->get<std::string>());
    }
    EncodeOptions o = tokenizer.default_options();
    o.add_special_tokens = add_special_tokens;
    std::vector<TokenizedRow> out;
    out.reserve(rows.size());
    for (auto& e : tokenizer.encode_batch(texts, o)) out.push_back({{e.ids.begin(), e.ids.end()}, {}});
    return out;
  };
}

TokenizedDataset TokenizedDataset::build(const Dataset& ds, const TokenizeFn& fn, const TokenizeSpec& spec) {
  GLINT_CHECK(spec.batch_size > 0, "datasets", "tokenize: batch_size must be positive");
  const std::string key = tokenize_fingerprint(ds, spec);
  const std::string dir = spec.cache_dir.empty() ? default_cache_dir() : spec.cache_dir;
  const std::string path = (std::filesystem::path(dir) / ("tokenized-" + key + ".bin")).string();
  if (std::filesystem::exists(path)) {
    try {
      TokenizedDataset t = open(path);
      if (t.fingerprint_ == key && t.rows_ == ds.num_rows()) {
        t.from_cache_ = true;
        return t;
      }
      spdlog::warn("[datasets] {}: not the cache of this dataset; tokenising again", path);
    } catch (const Error& e) {
      spdlog::warn("{}; tokenising again", e.what());
    }
  }
  std::vector<uint64_t> offsets{0};
  std::vector<int32_t> ids, labels;
  bool has_labels = false;
  for (size_t begin = 0; begin < ds.num_rows(); begin += spec.batch_size) {
    const size_t end = std::min(ds.num_rows(), begin + spec.batch_size);
    std::vector<Value> rows;
    rows.reserve(end - begin);
    for (size_t i = begin; i < end; ++i) rows.push_back(ds.row(i));
    std::vector<TokenizedRow> out = fn(rows);
    GLINT_CHECK(out.size() == rows.size(), "datasets", "tokenize: '", spec.function, "' returned ", out.size(),
                " rows for ", rows.size());
    for (size_t r = 0; r < out.size(); ++r) {
      if (begin == 0 && r == 0) has_labels = !out[r].labels.empty();
      GLINT_CHECK(out[r].labels.size() == (has_labels ? out[r].ids.size() : 0), "datasets", "tokenize: row ", begin + r,
                  " has ", out[r].labels.size(), " labels for ", out[r].ids.size(),
                  " ids (every row needs one label per id, or none has labels)");
      ids.insert(ids.end(), out[r].ids.begin(), out[r].ids.end());
      labels.insert(labels.end(), out[r].labels.begin(), out[r].labels.end());
      offsets.push_back(ids.size());
    }
  }
  std::filesystem::create_directories(dir);
  write_cache(path, key, offsets, ids, labels, has_labels);
  return open(path);
}

TokenizedDataset TokenizedDataset::open(const std::string& path) {
  TokenizedDataset t;
  t.file_ = io::MappedFile::open(path);
  t.path_ = path;
  const std::byte* base = t.file_->bytes().data();
  const size_t size = t.file_->size();
  GLINT_CHECK(size >= sizeof(Header), "datasets", path, ": too short for a tokenised-dataset cache");
  Header h;
  std::memcpy(&h, base, sizeof h);
  GLINT_CHECK(std::memcmp(h.magic, kMagic, sizeof kMagic) == 0, "datasets", path,
              ": not a tokenised-dataset cache (bad magic)");
  GLINT_CHECK(h.version == kVersion, "datasets", path, ": cache version ", h.version, ", this glint reads ", kVersion);
  const bool labels = h.flags & kHasLabels;
  // Sizes from the header are checked against the file before any multiplication can overflow.
  GLINT_CHECK(h.rows < size / 8 && h.tokens < size / 4, "datasets", path, ": header sizes exceed the file");
  const size_t expected = sizeof(Header) + (h.rows + 1) * 8 + h.tokens * 4 * (labels ? 2 : 1);
  GLINT_CHECK(expected == size, "datasets", path, ": ", size, " bytes, the header needs ", expected, " (truncated?)");
  t.rows_ = h.rows;
  t.tokens_ = h.tokens;
  t.fingerprint_.assign(h.fingerprint, strnlen(h.fingerprint, sizeof h.fingerprint));
  t.offsets_ = reinterpret_cast<const uint64_t*>(base + sizeof(Header));
  t.ids_ = reinterpret_cast<const int32_t*>(base + sizeof(Header) + (h.rows + 1) * 8);
  t.labels_ = labels ? t.ids_ + h.tokens : nullptr;
  GLINT_CHECK(t.offsets_[0] == 0 && t.offsets_[t.rows_] == t.tokens_, "datasets", path, ": damaged row offsets");
  for (size_t i = 0; i < t.rows_; ++i)
    GLINT_CHECK(t.offsets_[i] <= t.offsets_[i + 1], "datasets", path, ": damaged row offsets at row ", i);
  return t;
}

std::span<const int32_t> TokenizedDataset::ids(size_t i) const {
  GLINT_CHECK(i < rows_, "datasets", "row ", i, " out of range for ", rows_, " tokenised rows");
  return {ids_ + offsets_[i], size_t(offsets_[i + 1] - offsets_[i])};
}

std::span<const int32_t> TokenizedDataset::labels(size_t i) const {
  GLINT_CHECK(i < rows_, "datasets", "row ", i, " out of range for ", rows_, " tokenised rows");
  if (!labels_) return {};
  return {labels_ + offsets_[i], size_t(offsets_[i + 1] - offsets_[i])};
}

}  // namespace glint::datasets
