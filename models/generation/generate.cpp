#include "models/generation/generate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

#include "models/generation/logits_processors.h"
#include "runtime/core/error.h"

namespace glint {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Incremental detokenisation (the prefix/read offsets of text-generation-inference): decode a short window of
// recent tokens with and without the newest ones and emit the difference, holding it back while it ends in U+FFFD
// (a UTF-8 character split across byte-level tokens). Decoding a window rather than one token keeps the spacing
// that decoders derive from the neighbouring tokens.
class TextStream {
 public:
  explicit TextStream(const Tokenizer& tokenizer) : tokenizer_(&tokenizer) {}

  // The newly stable text after `id` ("" while it is incomplete).
  std::string push(int64_t id) {
    ids_.push_back(uint32_t(id));
    return take(false);
  }
  // Whatever is left at the end of the sequence, incomplete characters included.
  std::string flush() { return take(true); }
  const std::string& text() const { return text_; }

 private:
  std::string decode(size_t begin, size_t end) const {
    return tokenizer_->decode(std::vector<uint32_t>(ids_.begin() + ptrdiff_t(begin), ids_.begin() + ptrdiff_t(end)),
                              /*skip_special_tokens=*/true);
  }
  std::string take(bool final) {
    const std::string before = decode(prefix_, read_);
    const std::string now = decode(prefix_, ids_.size());
    static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
    if (now.size() <= before.size() || (!final && now.ends_with(kReplacement))) return "";
    std::string piece = now.substr(before.size());
    prefix_ = read_;
    read_ = ids_.size();
    text_ += piece;
    return piece;
  }

  const Tokenizer* tokenizer_;
  std::vector<uint32_t> ids_;
  size_t prefix_ = 0, read_ = 0;
  std::string text_;  // everything emitted so far
};

int64_t argmax(std::span<const float> row) {
  return int64_t(std::max_element(row.begin(), row.end()) - row.begin());  // first maximum, as torch.argmax
}

// torch.multinomial(softmax(row), 1) with our own RNG.
int64_t sample(std::span<const float> row, std::mt19937_64& rng) {
  const float mx = *std::max_element(row.begin(), row.end());
  std::vector<double> weights(row.size());
  for (size_t i = 0; i < row.size(); ++i) weights[i] = std::exp(double(row[i]) - mx);
  std::discrete_distribution<int64_t> pick(weights.begin(), weights.end());
  return pick(rng);
}

// The state of one sequence in the batch.
struct Sequence {
  std::vector<int64_t> seen;  // prompt then generated tokens, for the repetition penalty
  std::vector<int64_t> generated;
  int64_t real_tokens = 0;  // unmasked tokens so far: the next position is real_tokens
  bool finished = false;
  std::optional<TextStream> stream;
};

}  // namespace

GenerationOptions generation_options_from(const io::GenerationConfig& config) {
  GenerationOptions o;
  o.do_sample = config.do_sample;
  o.temperature = config.temperature;
  o.top_k = config.top_k;
  o.top_p = config.top_p;
  o.min_p = config.min_p.value_or(0);
  o.repetition_penalty = config.repetition_penalty;
  if (!config.eos_token_ids.empty()) o.eos_token_ids = config.eos_token_ids;
  if (config.max_new_tokens) o.max_new_tokens = *config.max_new_tokens;
  return o;
}

std::vector<std::vector<int64_t>> generate(const CausalLM& model, const Tokenizer* tokenizer,
                                           const std::vector<std::vector<int64_t>>& prompts,
                                           const GenerationOptions& options, GenerationStats* stats) {
  const CausalLMConfig& config = model.config();
  const auto batch = int64_t(prompts.size());
  GLINT_CHECK(batch > 0, "generate", "no prompts");
  GLINT_CHECK(options.max_new_tokens >= 0, "generate", "max_new_tokens must be >= 0");
  GLINT_CHECK(tokenizer || (options.stop_strings.empty() && !options.on_text), "generate",
              "stop strings and streaming need a tokenizer");
  const std::vector<int64_t>& eos = options.eos_token_ids ? *options.eos_token_ids : config.eos_token_ids;
  const int64_t pad = config.pad_token_id.value_or(eos.empty() ? 0 : eos.front());
  const SamplingWarpers warpers{options.temperature, options.top_p, options.min_p, options.top_k};
  std::mt19937_64 rng(options.seed ? *options.seed : std::random_device{}());
  size_t longest_stop = 0;
  for (const std::string& s : options.stop_strings) longest_stop = std::max(longest_stop, s.size());

  int64_t prompt_max = 0;
  std::vector<Sequence> seqs(static_cast<size_t>(batch));
  for (int64_t b = 0; b < batch; ++b) {
    const std::vector<int64_t>& p = prompts[size_t(b)];
    GLINT_CHECK(!p.empty(), "generate", "prompt ", b, " is empty");
    prompt_max = std::max(prompt_max, int64_t(p.size()));
    seqs[size_t(b)].seen = p;
    if (tokenizer) seqs[size_t(b)].stream.emplace(*tokenizer);
  }
  if (stats) {
    *stats = {};
    for (const auto& p : prompts) stats->prompt_tokens += int64_t(p.size());
  }
  std::vector<std::vector<int64_t>> out(static_cast<size_t>(batch));
  if (options.max_new_tokens == 0) return out;

  // Host copies of the attention mask (B, total) and the step's inputs; padding goes on the left.
  const int64_t total = prompt_max + options.max_new_tokens;
  std::vector<int64_t> mask(size_t(batch * total), 0);
  std::vector<int64_t> ids(size_t(batch * prompt_max), pad), positions(size_t(batch * prompt_max), 1);
  for (int64_t b = 0; b < batch; ++b) {
    const std::vector<int64_t>& p = prompts[size_t(b)];
    const int64_t offset = prompt_max - int64_t(p.size());
    for (size_t t = 0; t < p.size(); ++t) {
      const auto at = size_t(b * prompt_max + offset + int64_t(t));
      ids[at] = p[t];
      positions[at] = int64_t(t);  // cumsum(mask) - 1; padding keeps position 1 as transformers fills it
      mask[size_t(b * total + offset + int64_t(t))] = 1;
    }
    seqs[size_t(b)].real_tokens = int64_t(p.size());
  }

  const Device device = model.device();
  KVCache cache = model.new_cache(batch, total);
  // Runs the model on the step's (B, T) inputs and returns the last position's logits (B, V) on the host.
  auto step = [&](int64_t t) {
    const int64_t seen = cache.length + t;
    std::vector<int64_t> step_mask(size_t(batch * seen));
    for (int64_t b = 0; b < batch; ++b) std::copy_n(mask.begin() + b * total, seen, step_mask.begin() + b * seen);
    Tensor logits = model.forward(Tensor::from_vector(ids, {batch, t}, DType::i64, device),
                                  Tensor::from_vector(step_mask, {batch, seen}, DType::i64, device),
                                  Tensor::from_vector(positions, {batch, t}, DType::i64, device), &cache,
                                  /*last_only=*/true);
    GLINT_CHECK(logits.ndim() == 3 && logits.dim(0) == batch && logits.dim(1) == 1, "generate",
                "the model returned logits ", logits.str(), " for last_only");
    return logits.reshape({batch, logits.dim(2)}).to(Device::cpu()).to(DType::f32).contiguous();
  };

  auto t0 = Clock::now();
  Tensor logits = step(prompt_max);
  for (int64_t i = 0; i < options.max_new_tokens; ++i) {
    const int64_t vocab = logits.dim(1);
    if (options.repetition_penalty != 1) {
      std::vector<std::vector<int64_t>> seen;
      for (const Sequence& s : seqs) seen.push_back(s.seen);
      apply_repetition_penalty(logits, seen, options.repetition_penalty);
    }
    if (options.do_sample) apply_warpers(logits, warpers);

    ids.assign(size_t(batch), pad);
    positions.assign(size_t(batch), 1);
    const int64_t column = prompt_max + i;  // where this step's token sits in the mask
    bool all_finished = true;
    for (int64_t b = 0; b < batch; ++b) {
      Sequence& s = seqs[size_t(b)];
      if (s.finished) continue;  // finished rows get padding, masked out
      std::span<const float> row(logits.data<float>() + b * vocab, size_t(vocab));
      const int64_t token = options.do_sample ? sample(row, rng) : argmax(row);
      ids[size_t(b)] = token;
      positions[size_t(b)] = s.real_tokens++;
      mask[size_t(b * total + column)] = 1;
      s.seen.push_back(token);
      s.generated.push_back(token);
      if (stats) ++stats->generated_tokens;

      s.finished = std::find(eos.begin(), eos.end(), token) != eos.end() || i + 1 == options.max_new_tokens;
      if (s.stream) {
        const size_t old_size = s.stream->text().size();
        std::string piece = s.stream->push(token);
        // Only the new text, with enough before it to complete a stop string that spans tokens, can newly match.
        const size_t from = old_size >= longest_stop ? old_size - longest_stop + 1 : 0;
        for (const std::string& stop : options.stop_strings)
          if (s.stream->text().find(stop, from) != std::string::npos) s.finished = true;
        if (s.finished) piece += s.stream->flush();
        if (options.on_text && !piece.empty()) options.on_text(b, piece);
      }
      all_finished = all_finished && s.finished;
    }
    if (stats) (i == 0 ? stats->prefill_seconds : stats->decode_seconds) += seconds_since(t0);
    if (all_finished) break;
    t0 = Clock::now();
    logits = step(1);
  }
  for (int64_t b = 0; b < batch; ++b) out[size_t(b)] = std::move(seqs[size_t(b)].generated);
  return out;
}

std::vector<std::vector<int64_t>> CausalLM::generate(const std::vector<std::vector<int64_t>>& prompts,
                                                     const GenerationOptions& options, const Tokenizer* tokenizer,
                                                     GenerationStats* stats) const {
  return glint::generate(*this, tokenizer, prompts, options, stats);
}

std::vector<uint32_t> CausalLM::generate(const std::vector<uint32_t>& prompt, const GenerationOptions& options,
                                         const Tokenizer* tokenizer, GenerationStats* stats) const {
  const std::vector<std::vector<int64_t>> prompts{std::vector<int64_t>(prompt.begin(), prompt.end())};
  const std::vector<int64_t> ids = glint::generate(*this, tokenizer, prompts, options, stats)[0];
  return {ids.begin(), ids.end()};
}

}  // namespace glint
