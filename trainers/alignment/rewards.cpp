#include "trainers/alignment/rewards.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <cmath>
#include <memory>

#include "runtime/core/error.h"

namespace glint::train::alignment {
namespace {

std::string_view trim(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// A row's column as the text an answer is compared with: strings as they are, numbers and the rest as JSON.
std::string column_text(const nlohmann::json& row, const std::string& column) {
  GLINT_CHECK(row.is_object() && row.contains(column), "rewards", "exact_match: the dataset row has no column '",
              column, "'");
  const nlohmann::json& v = row.at(column);
  return v.is_string() ? v.get<std::string>() : v.dump();
}

// One compiled pattern shared by every copy of the reward function.
struct Pattern {
  pcre2_code* code = nullptr;
  ~Pattern() { pcre2_code_free(code); }
};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i)
    if (i == s.size() || s[i] == sep) {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  return parts;
}

int64_t parse_count(const std::string& text, const std::string& spec) {
  size_t used = 0;
  int64_t v = -1;
  try {
    v = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  GLINT_CHECK(used == text.size() && v >= 0, "rewards", "'", spec, "': '", text, "' is not a token count");
  return v;
}

}  // namespace

RewardFunction exact_match_reward(const std::string& column) {
  GLINT_CHECK(!column.empty(), "rewards", "exact_match needs a column name (exact_match:COLUMN)");
  return {"exact_match", [column](const RewardSample& s) {
            return trim(s.completion) == trim(column_text(s.row, column)) ? 1.0 : 0.0;
          }};
}

RewardFunction format_reward(const std::string& regex) {
  auto pattern = std::make_shared<Pattern>();
  int err = 0;
  PCRE2_SIZE offset = 0;
  pattern->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(regex.data()), regex.size(),
                                PCRE2_UTF | PCRE2_DOTALL | PCRE2_ANCHORED, &err, &offset, nullptr);
  if (!pattern->code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    fail("rewards", "format: the pattern '", regex, "' does not compile at offset ", offset, ": ",
         reinterpret_cast<const char*>(msg));
  }
  return {"format", [pattern](const RewardSample& s) {
            std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> md(
                pcre2_match_data_create_from_pattern(pattern->code, nullptr), pcre2_match_data_free);
            // Decoded completions are valid UTF-8 (the tokenizer replaces broken sequences).
            const int rc = pcre2_match(pattern->code, reinterpret_cast<PCRE2_SPTR>(s.completion.data()),
                                       s.completion.size(), 0, 0, md.get(), nullptr);
            GLINT_CHECK(rc >= 0 || rc == PCRE2_ERROR_NOMATCH, "rewards", "format: matching failed (PCRE2 error ", rc,
                        ")");
            return rc >= 0 ? 1.0 : 0.0;
          }};
}

RewardFunction length_reward(int64_t max_completion_len, int64_t soft_punish_cache) {
  GLINT_CHECK(max_completion_len > 0 && soft_punish_cache >= 0 && soft_punish_cache <= max_completion_len, "rewards",
              "length: need 0 <= cache <= max and max > 0, got max ", max_completion_len, " cache ", soft_punish_cache);
  return {"length", [max_completion_len, soft_punish_cache](const RewardSample& s) {
            const double n = double(s.completion_ids.size());
            const double free = double(max_completion_len - soft_punish_cache);
            if (n <= free) return 0.0;
            if (n <= double(max_completion_len)) return (free - n) / double(soft_punish_cache);
            return -1.0;
          }};
}

RewardFunction parse_reward(const std::string& spec) {
  const size_t colon = spec.find(':');
  const std::string kind = spec.substr(0, colon), arg = colon == std::string::npos ? "" : spec.substr(colon + 1);
  if (kind == "exact_match") return exact_match_reward(arg);
  if (kind == "format") {
    GLINT_CHECK(!arg.empty(), "rewards", "format needs a pattern (format:REGEX)");
    return format_reward(arg);
  }
  if (kind == "length") {
    const std::vector<std::string> parts = split(arg, ':');
    GLINT_CHECK(!arg.empty() && parts.size() <= 2, "rewards", "'", spec, "': use length:MAX or length:MAX:CACHE");
    const int64_t max = parse_count(parts[0], spec);
    return length_reward(max, parts.size() == 2 ? parse_count(parts[1], spec) : max / 5);
  }
  fail("rewards", "'", spec, "' is not a reward (exact_match:COLUMN, format:REGEX, length:MAX[:CACHE])");
}

std::vector<std::vector<double>> score_rewards(const std::vector<RewardFunction>& functions,
                                               const std::vector<RewardSample>& samples) {
  std::vector<std::vector<double>> out(samples.size(), std::vector<double>(functions.size()));
  for (size_t i = 0; i < samples.size(); ++i)
    for (size_t f = 0; f < functions.size(); ++f) out[i][f] = functions[f].fn(samples[i]);
  return out;
}

}  // namespace glint::train::alignment
