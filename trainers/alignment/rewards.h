// GRPO's reward functions: each scores one sampled completion of a prompt, given the prompt's dataset row (TRL
// passes every other column as a keyword argument). A C++ callback, or a built-in made from a CLI spec:
//   exact_match:COLUMN   1 when the completion, trimmed, equals the row's COLUMN (trimmed; numbers as JSON writes
//                        them), else 0
//   format:REGEX         1 when REGEX (PCRE2) matches at the completion's start, '.' matching newlines (Python's
//                        re.match(REGEX, completion, re.DOTALL), as TRL's format rewards test), else 0
//   length:MAX[:CACHE]   TRL's soft overlong punishment over completion tokens: 0 up to MAX - CACHE tokens, falling
//                        linearly to -1 at MAX, -1 beyond (CACHE defaults to MAX / 5)
// A reward of NaN means "does not apply to this completion" (TRL's None): it is left out of the means.
#pragma once
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace glint::train::alignment {

// What a reward function sees of one completion.
struct RewardSample {
  std::string_view prompt;                     // the prompt's text
  std::string_view completion;                 // the completion's text, special tokens skipped
  const std::vector<int64_t>& completion_ids;  // the sampled tokens (the EOS token included when one ended it)
  const nlohmann::json& row;                   // the prompt's dataset row (every column)
};

// A named reward: `name` is the metric key rewards/<name>/mean.
struct RewardFunction {
  std::string name;
  std::function<double(const RewardSample&)> fn;
};

// Built-ins (see above).
RewardFunction exact_match_reward(const std::string& column);
RewardFunction format_reward(const std::string& regex);
RewardFunction length_reward(int64_t max_completion_len, int64_t soft_punish_cache);

// The built-in a CLI spec names ("exact_match:answer", "format:^<think>", "length:256:64"); errors name the spec.
RewardFunction parse_reward(const std::string& spec);

// Each function's reward of each sample: [sample][function].
std::vector<std::vector<double>> score_rewards(const std::vector<RewardFunction>& functions,
                                               const std::vector<RewardSample>& samples);

}  // namespace glint::train::alignment
