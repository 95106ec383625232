#include "trainers/sft.h"

#include "runtime/core/error.h"

namespace glint::train {
namespace {

std::vector<int32_t> encode(const Tokenizer& tok, const std::string& text) {
  const Encoding e = tok.encode(text, /*add_special_tokens=*/false);
  return std::vector<int32_t>(e.ids.begin(), e.ids.end());
}

// Appends `ids` with the same label for each (the ids themselves, or -100).
void append(datasets::TokenizedRow& row, const std::vector<int32_t>& ids, bool take_loss) {
  for (int32_t id : ids) {
    row.ids.push_back(id);
    row.labels.push_back(take_loss ? id : -100);
  }
}

std::string string_cell(const datasets::Value& row, const std::string& column) {
  GLINT_CHECK(row.contains(column) && row[column].is_string(), "sft", "column '", column,
              "' must hold a string in every row, got ", row.contains(column) ? row[column].dump() : "nothing");
  return row[column].get<std::string>();
}

}  // namespace

SftFormat detect_sft_format(const datasets::Dataset& ds, const SftOptions& options) {
  if (ds.has_column("messages")) return SftFormat::messages;
  if (ds.has_column("prompt") && ds.has_column("completion")) return SftFormat::prompt_completion;
  if (ds.has_column(options.text_column)) return SftFormat::text;
  std::string cols;
  for (const std::string& c : ds.column_names()) cols += (cols.empty() ? "" : ", ") + c;
  fail("sft", "no SFT format fits the columns (", cols, "): expected '", options.text_column,
       "', 'prompt' + 'completion', or 'messages'");
}

datasets::Value sft_options_json(SftFormat format, const SftOptions& o) {
  return {{"format", int(format)},
          {"completion_only_loss", o.completion_only_loss},
          {"assistant_only_loss", o.assistant_only_loss},
          {"max_length", o.max_length},
          {"text_column", o.text_column}};
}

datasets::TokenizeFn sft_tokenize_fn(const Tokenizer& tokenizer, SftFormat format, const SftOptions& options) {
  return [tok = tokenizer, format, options](const std::vector<datasets::Value>& rows) {
    const std::optional<uint32_t> eos =
        tok.config().eos_token ? tok.token_to_id(*tok.config().eos_token) : std::optional<uint32_t>();
    std::vector<datasets::TokenizedRow> out(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      const datasets::Value& r = rows[i];
      datasets::TokenizedRow& row = out[i];
      if (format == SftFormat::text) {
        append(row, encode(tok, string_cell(r, options.text_column)), true);
      } else if (format == SftFormat::prompt_completion) {
        append(row, encode(tok, string_cell(r, "prompt")), !options.completion_only_loss);
        append(row, encode(tok, string_cell(r, "completion")), true);
      } else {
        // Each turn's tokens are the growth of the rendered conversation, so the template decides the text
        // between turns exactly as for the whole conversation.
        const nlohmann::ordered_json& messages = r.at("messages");
        std::string rendered;
        for (size_t m = 0; m < messages.size(); ++m) {
          const nlohmann::ordered_json upto(messages.begin(), messages.begin() + std::ptrdiff_t(m + 1));
          const std::string text = tok.apply_chat_template(upto, false);
          GLINT_CHECK(text.compare(0, rendered.size(), rendered) == 0, "sft",
                      "the chat template does not render conversations incrementally, so turns cannot be masked");
          const bool assistant = messages[m].value("role", "") == "assistant";
          append(row, encode(tok, text.substr(rendered.size())), !options.assistant_only_loss || assistant);
          rendered = text;
        }
      }
      if (eos && (row.ids.empty() || row.ids.back() != int32_t(*eos))) append(row, {int32_t(*eos)}, true);
      if (options.max_length > 0 && int64_t(row.ids.size()) > options.max_length) {
        row.ids.resize(size_t(options.max_length));
        row.labels.resize(size_t(options.max_length));
      }
    }
    return out;
  };
}

}  // namespace glint::train
