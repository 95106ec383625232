// Byte-pair encoding exactly as HF `tokenizers`' BPE: characters (with continuing-subword prefix / end-of-word
// suffix) looked up in the vocabulary, byte fallback <0xXX> or a (fused) unknown token for the missing ones, then
// merges applied lowest rank first (leftmost on ties) through a heap over a linked list of symbols. Results are
// cached per word in a per-thread cache, so batches on many threads never lock.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <queue>

#include "models/tokenizers/model.h"

namespace glint::tok {

namespace {

// Open addressing map from a symbol pair to (rank, merged id): the hottest lookup of the encoder.
class MergeMap {
 public:
  struct Value {
    uint32_t rank, id;
  };
  void build(const std::vector<std::pair<uint64_t, Value>>& items) {
    size_t cap = 16;
    while (cap < items.size() * 2) cap <<= 1;
    keys_.assign(cap, kEmpty);
    values_.assign(cap, {});
    mask_ = cap - 1;
    for (const auto& [k, v] : items) {
      size_t i = slot(k);
      if (keys_[i] == k) continue;  // a repeated merge keeps its first (lowest) rank
      keys_[i] = k;
      values_[i] = v;
    }
  }
  const Value* find(uint32_t a, uint32_t b) const {
    uint64_t k = key(a, b);
    size_t i = slot(k);
    return keys_[i] == k ? &values_[i] : nullptr;
  }
  static uint64_t key(uint32_t a, uint32_t b) { return (uint64_t(a) << 32) | b; }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t(0);
  size_t slot(uint64_t k) const {
    size_t i = size_t((k * 0x9E3779B97F4A7C15ull) >> 17) & mask_;
    while (keys_[i] != kEmpty && keys_[i] != k) i = (i + 1) & mask_;
    return i;
  }
  std::vector<uint64_t> keys_;
  std::vector<Value> values_;
  size_t mask_ = 0;
};

struct Symbol {
  uint32_t id;
  int prev, next;
  uint32_t len;
};

struct CachedToken {
  uint32_t id, start, end;
};

// Word -> tokens, open addressing over one key arena and one token arena: a lookup costs one hash and (almost
// always) one probe, with no allocation. Full at kCacheWords words, it starts over.
class WordCache {
 public:
  const CachedToken* find(std::string_view w, uint64_t h, size_t& n) const {
    if (table_.empty()) return nullptr;
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Entry& e = table_[i];
      if (e.hash == 0) return nullptr;
      if (e.hash == h && e.key_len == w.size() && keys_.compare(e.key_off, e.key_len, w) == 0) {
        n = e.tok_len;
        return tokens_.data() + e.tok_off;
      }
    }
  }
  void insert(std::string_view w, uint64_t h, const std::vector<CachedToken>& toks, size_t max_words) {
    if (table_.empty() || count_ * 2 >= table_.size() || count_ >= max_words) reset(max_words);
    size_t i = h & mask_;
    while (table_[i].hash != 0) i = (i + 1) & mask_;
    table_[i] = {h, uint32_t(keys_.size()), uint32_t(w.size()), uint32_t(tokens_.size()), uint32_t(toks.size())};
    keys_.append(w);
    tokens_.insert(tokens_.end(), toks.begin(), toks.end());
    ++count_;
  }
  static uint64_t hash(std::string_view w) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ w.size();
    size_t i = 0;
    for (; i + 8 <= w.size(); i += 8) {
      uint64_t v;
      std::memcpy(&v, w.data() + i, 8);
      h = (h ^ v) * 0xBF58476D1CE4E5B9ull;
      h ^= h >> 31;
    }
    uint64_t v = 0;
    std::memcpy(&v, w.data() + i, w.size() - i);
    h = (h ^ v) * 0x94D049BB133111EBull;
    h ^= h >> 29;
    return h | 1;  // 0 marks an empty slot
  }

 private:
  struct Entry {
    uint64_t hash;
    uint32_t key_off, key_len, tok_off, tok_len;
  };
  void reset(size_t max_words) {
    size_t cap = 1;
    while (cap < max_words * 2) cap <<= 1;
    table_.assign(cap, Entry{0, 0, 0, 0, 0});
    mask_ = cap - 1;
    keys_.clear();
    tokens_.clear();
    count_ = 0;
  }
  std::vector<Entry> table_;
  size_t mask_ = 0, count_ = 0;
  std::string keys_;
  std::vector<CachedToken> tokens_;
};
constexpr size_t kCacheWords = 1 << 15;

std::atomic<uint64_t> next_model_serial{1};

class Bpe : public Model {
 public:
  Bpe(Vocab vocab, const std::vector<std::pair<std::string, std::string>>& merges, const BpeOptions& o,
      const std::string& where)
      : vocab_(std::move(vocab)), options_(o), serial_(next_model_serial++) {
    vocab_r_ = invert_vocab(vocab_, where);
    if (o.unk_token) unk_id_ = find_id(vocab_, *o.unk_token);
    std::vector<std::pair<uint64_t, MergeMap::Value>> items;
    items.reserve(merges.size());
    const std::string& prefix = o.continuing_subword_prefix;
    for (size_t rank = 0; rank < merges.size(); ++rank) {
      const auto& [a, b] = merges[rank];
      auto ia = find_id(vocab_, a), ib = find_id(vocab_, b);
      if (!ia)
        fail("tokenizer", where, ": merge ", rank, " ('", a, "' '", b, "') uses '", a, "', not in the vocabulary");
      if (!ib)
        fail("tokenizer", where, ": merge ", rank, " ('", a, "' '", b, "') uses '", b, "', not in the vocabulary");
      std::string merged = a;
      merged += !prefix.empty() && b.compare(0, prefix.size(), prefix) == 0 ? b.substr(prefix.size()) : b;
      auto im = find_id(vocab_, merged);
      if (!im) fail("tokenizer", where, ": merge ", rank, " gives '", merged, "', not in the vocabulary");
      items.push_back({MergeMap::key(*ia, *ib), {uint32_t(rank), *im}});
    }
    merges_.build(items);
    for (int b = 0; b < 256; ++b) {
      char name[8];
      std::snprintf(name, sizeof name, "<0x%02X>", b);
      byte_ids_[b] = find_id(vocab_, name).value_or(UINT32_MAX);
    }
  }

  void tokenize(std::string_view word, std::vector<Token>& out) const override {
    if (word.empty()) return;
    if (options_.ignore_merges) {
      if (auto id = find_id(vocab_, word)) {
        out.push_back({*id, vocab_r_[*id], 0, word.size()});
        return;
      }
    }
    WordCache& cache = thread_cache();
    uint64_t h = WordCache::hash(word);
    size_t n = 0;
    const CachedToken* hit = cache.find(word, h, n);
    if (!hit) {
      std::vector<CachedToken> toks = merge_word(word);
      for (const CachedToken& t : toks) out.push_back({t.id, vocab_r_[t.id], t.start, t.end});
      if (word.size() < 256) cache.insert(word, h, toks, kCacheWords);
      return;
    }
    for (size_t i = 0; i < n; ++i) out.push_back({hit[i].id, vocab_r_[hit[i].id], hit[i].start, hit[i].end});
  }

  std::optional<uint32_t> token_to_id(std::string_view token) const override { return find_id(vocab_, token); }
  const std::string* id_to_token(uint32_t id) const override {
    return id < vocab_r_.size() && !vocab_r_[id].empty() ? &vocab_r_[id] : nullptr;
  }
  size_t vocab_size() const override { return vocab_.size(); }

 private:
  WordCache& thread_cache() const {
    // One cache per (thread, model), so batches never lock; a thread that alternates between many models drops the
    // oldest caches. The last one used is remembered: consecutive words almost always share the model.
    thread_local std::unordered_map<uint64_t, WordCache> caches;
    thread_local std::pair<uint64_t, WordCache*> last{0, nullptr};
    if (last.first == serial_) return *last.second;
    auto it = caches.find(serial_);
    if (it == caches.end()) {
      if (caches.size() >= 8) caches.clear();
      it = caches.emplace(serial_, WordCache{}).first;
    }
    last = {serial_, &it->second};
    return it->second;
  }

  std::vector<CachedToken> merge_word(std::string_view w) const {
    std::vector<Symbol> symbols;
    symbols.reserve(w.size());
    // Like HF, symbols carry lengths and offsets are their running sum (byte-fallback pieces count one byte each).
    auto add = [&](uint32_t id, size_t len) {
      int idx = int(symbols.size());
      symbols.push_back({id, idx - 1, idx + 1, uint32_t(len)});
    };
    std::optional<std::pair<uint32_t, size_t>> unk;  // pending unknown token: id, start
    size_t unk_end = 0;
    std::string s;
    for (size_t i = 0; i < w.size();) {
      size_t n = utf8_len(static_cast<unsigned char>(w[i])), end = i + n;
      std::optional<uint32_t> id;
      if (options_.continuing_subword_prefix.empty() && options_.end_of_word_suffix.empty()) {
        s.assign(w.substr(i, n));
      } else {
        s.clear();
        if (i > 0) s += options_.continuing_subword_prefix;
        s += w.substr(i, n);
        if (end == w.size()) s += options_.end_of_word_suffix;
      }
      id = find_id(vocab_, s);
      if (id) {
        if (unk) {
          add(unk->first, unk_end - unk->second);
          unk.reset();
        }
        add(*id, n);
      } else {
        bool done = false;
        if (options_.byte_fallback) {
          bool all = true;
          for (char c : s) all &= byte_ids_[static_cast<unsigned char>(c)] != UINT32_MAX;
          if (all) {
            if (unk) {
              add(unk->first, unk_end - unk->second);
              unk.reset();
            }
            for (char c : s) add(byte_ids_[static_cast<unsigned char>(c)], 1);
            done = true;
          }
        }
        if (!done && unk_id_) {
          if (unk && options_.fuse_unk) {
            unk_end = end;
          } else {
            if (unk) add(unk->first, unk_end - unk->second);
            unk = std::make_pair(*unk_id_, i);
            unk_end = end;
          }
        }
      }
      i = end;
    }
    if (unk) add(unk->first, unk_end - unk->second);
    if (!symbols.empty()) symbols.back().next = -1;
    apply_merges(symbols);
    std::vector<CachedToken> out;
    uint32_t pos = 0;
    for (const Symbol& sym : symbols) {
      if (sym.len == 0) continue;
      out.push_back({sym.id, pos, pos + sym.len});
      pos += sym.len;
    }
    return out;
  }

  void apply_merges(std::vector<Symbol>& sym) const {
    struct Candidate {
      uint32_t rank;
      int pos;
      uint32_t id;
      bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
    };
    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
    for (size_t i = 0; i + 1 < sym.size(); ++i)
      if (const auto* m = merges_.find(sym[i].id, sym[i + 1].id)) queue.push({m->rank, int(i), m->id});
    while (!queue.empty()) {
      Candidate top = queue.top();
      queue.pop();
      Symbol& cur = sym[top.pos];
      if (cur.len == 0 || cur.next < 0) continue;
      Symbol& right = sym[cur.next];
      const auto* m = merges_.find(cur.id, right.id);
      if (!m || m->id != top.id) continue;  // stale entry
      cur.id = top.id;
      cur.len += right.len;
      right.len = 0;
      int after = right.next;
      cur.next = after;
      if (after >= 0) sym[after].prev = top.pos;
      if (cur.prev >= 0)
        if (const auto* p = merges_.find(sym[cur.prev].id, cur.id)) queue.push({p->rank, cur.prev, p->id});
      if (after >= 0)
        if (const auto* n = merges_.find(cur.id, sym[after].id)) queue.push({n->rank, top.pos, n->id});
    }
  }

  Vocab vocab_;
  std::vector<std::string> vocab_r_;
  MergeMap merges_;
  BpeOptions options_;
  std::optional<uint32_t> unk_id_;
  uint32_t byte_ids_[256];
  uint64_t serial_;
};

}  // namespace

std::shared_ptr<const Model> make_bpe(Vocab vocab, const std::vector<std::pair<std::string, std::string>>& merges,
                                      const BpeOptions& options, const std::string& where) {
  return std::make_shared<Bpe>(std::move(vocab), merges, options, where);
}

}  // namespace glint::tok
