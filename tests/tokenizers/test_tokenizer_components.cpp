// Unit behaviour of the tokenizer components and the errors for bad tokenizer.json files. Expected values were
// checked with HF tokenizers 0.23.3.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "models/tokenizers/decoders.h"
#include "models/tokenizers/normalizers.h"
#include "models/tokenizers/pre_tokenizers.h"
#include "models/tokenizers/tokenizer.h"
#include "models/tokenizers/unicode.h"
#include "runtime/core/error.h"

namespace glint {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path data_dir() { return fs::path(__FILE__).parent_path() / "../data/tokenizers"; }

json read_json(const fs::path& p) {
  std::ifstream in(p);
  return json::parse(in);
}

std::string error_of(const json& j, const std::string& file = "bad.json") {
  try {
    Tokenizer::from_json(j, file);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

const json kTinyBpe = {
    {"model", {{"type", "BPE"}, {"vocab", {{"a", 0}, {"b", 1}, {"ab", 2}}}, {"merges", json::array({"a b"})}}}};

TEST(TokenizerErrors, UnknownComponentTypesAreListed) {
  json j = kTinyBpe;
  j["model"]["type"] = "WordLevelX";
  std::string e = error_of(j);
  EXPECT_NE(e.find("bad.json: model: unknown model type 'WordLevelX' (supported: BPE, WordPiece, Unigram)"),
            std::string::npos)
      << e;
  j = kTinyBpe;
  j["normalizer"] = {{"type", "Sequence"}, {"normalizers", {{{"type", "NFC"}}, {{"type", "Precompiled"}}}}};
  e = error_of(j);
  EXPECT_NE(e.find("bad.json: normalizer.normalizers[1]: unknown normalizer type 'Precompiled' (supported: NFC"),
            std::string::npos)
      << e;
  j = kTinyBpe;
  j["pre_tokenizer"] = {{"type", "UnicodeScripts"}};
  EXPECT_NE(error_of(j).find("unknown pre-tokenizer type 'UnicodeScripts'"), std::string::npos);
  j = kTinyBpe;
  j["decoder"] = {{"type", "Nope"}};
  EXPECT_NE(error_of(j).find("bad.json: decoder: unknown decoder type 'Nope'"), std::string::npos);
  j = kTinyBpe;
  j["post_processor"] = {{"type", "Nope"}};
  EXPECT_NE(error_of(j).find("unknown post-processor type 'Nope'"), std::string::npos);
}

TEST(TokenizerErrors, MissingAndMalformedFieldsNameTheFileAndPath) {
  json j = kTinyBpe;
  j["model"].erase("merges");
  EXPECT_NE(error_of(j, "x/tokenizer.json").find("x/tokenizer.json: model.merges is missing"), std::string::npos);
  j = kTinyBpe;
  j["model"]["merges"] = {"a c"};
  EXPECT_NE(error_of(j).find("merge 0 ('a' 'c') uses 'c', not in the vocabulary"), std::string::npos);
  j = kTinyBpe;
  j["model"]["vocab"]["a"] = "zero";
  EXPECT_NE(error_of(j).find("model.vocab: id of 'a' is not an id"), std::string::npos);
  j = kTinyBpe;
  j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}};
  EXPECT_NE(error_of(j).find("regex '(unclosed' does not compile"), std::string::npos);
  j = kTinyBpe;
  j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "a"}}}, {"behavior", "Sideways"}};
  EXPECT_NE(error_of(j).find("pre_tokenizer.behavior: unknown split behavior 'Sideways'"), std::string::npos);
  EXPECT_NE(error_of(json::array()).find("expected a JSON object"), std::string::npos);
  try {
    Tokenizer::from_file("/nonexistent/tokenizer.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/tokenizer.json: cannot open"), std::string::npos);
  }
}

TEST(TokenizerUnicode, InvalidUtf8IsReplacedLikePython) {
  EXPECT_EQ(tok::sanitize_utf8("a\xff"
                               "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(tok::sanitize_utf8("\xe2\x82"), "\xEF\xBF\xBD");                              // truncated: one U+FFFD
  EXPECT_EQ(tok::sanitize_utf8("\xf0\x80\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong: one per byte
  EXPECT_EQ(tok::sanitize_utf8("\xed\xa0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(tok::sanitize_utf8("h\xc3\xa9"), "h\xc3\xa9");
}

TEST(TokenizerNormalizers, AlignmentFollowsHf) {
  // NFD: the combining mark is inserted and aligned with the character it came from.
  tok::NormalizedString s("h\xc3\xa9x", 0);
  tok::unicode_normalize(s, tok::UnicodeForm::kNFD);
  EXPECT_EQ(s.text(), "he\xcc\x81x");
  EXPECT_EQ(s.original_span(1, 2).start, 1u);
  EXPECT_EQ(s.original_span(2, 4).end, 3u);
  // NFC: the composed character aligns with its first source character only (HF behaviour).
  tok::NormalizedString c("e\xcc\x81x", 0);
  tok::unicode_normalize(c, tok::UnicodeForm::kNFC);
  EXPECT_EQ(c.text(), "\xc3\xa9x");
  EXPECT_EQ(c.original_span(0, 2).end, 1u);
  EXPECT_EQ(c.original_span(2, 3).start, 3u);
}

TEST(TokenizerNormalizers, BertStripAccentsFollowsLowercaseWhenNull) {
  json j = {{"type", "BertNormalizer"}, {"strip_accents", nullptr}, {"lowercase", true}};
  auto n = tok::normalizer_from_json({j, "t", "normalizer"});
  tok::NormalizedString s("H\xc3\xa9llo\t\xe4\xbd\xa0", 0);
  n->normalize(s);
  EXPECT_EQ(s.text(), "hello  \xe4\xbd\xa0 ");
  j["lowercase"] = false;
  auto keep = tok::normalizer_from_json({j, "t", "normalizer"});
  tok::NormalizedString k("H\xc3\xa9", 0);
  keep->normalize(k);
  EXPECT_EQ(k.text(), "H\xc3\xa9");
}

TEST(TokenizerPreTokenizers, DigitsAndMetaspace) {
  json d = {{"type", "Digits"}, {"individual_digits", false}};
  tok::PreTokenizedString p;
  std::string text = "a12\xe2\x91\xa0\xd9\xa3x";  // a12①٣x: every numeric character, not only ASCII digits
  p.splits.push_back({tok::NormalizedString(text, 0), {}, false});
  tok::pre_tokenizer_from_json({d, "t", "pre_tokenizer"})->pre_tokenize(p);
  ASSERT_EQ(p.splits.size(), 3u);
  EXPECT_EQ(p.splits[1].normalized.text(), "12\xe2\x91\xa0\xd9\xa3");
  std::vector<std::string> tokens = {
      "\xe2\x96\x81\xe2\x96\x81"
      "a",
      "\xe2\x96\x81"
      "b\xe2\x96\x81"};
  json m = {{"type", "Metaspace"}, {"replacement", "\xe2\x96\x81"}, {"prepend_scheme", "always"}};
  tok::decoder_from_json({m, "t", "decoder"})->decode_chain(tokens);
  EXPECT_EQ(tokens[0] + tokens[1], "a b ");
}

TEST(TokenizerPipeline, QwenSpecialTokensAndDecode) {
  Tokenizer t = Tokenizer::from_file((data_dir() / "qwen3/tokenizer.json").string());
  std::string text = "hi <|im_start|>user\nyo<|im_end|>";
  Encoding e = t.encode(text);
  EXPECT_EQ(e.ids, (std::vector<uint32_t>{6023, 220, 151644, 872, 198, 16032, 151645}));
  EXPECT_EQ(e.tokens[2], "<|im_start|>");
  EXPECT_EQ(e.offsets[2], (std::pair<size_t, size_t>{3, 15}));
  EXPECT_EQ(t.decode(e.ids), text);
  EXPECT_EQ(t.decode(e.ids, true), "hi user\nyo");
  EXPECT_EQ(t.token_to_id("<|im_end|>"), 151645u);
  EXPECT_EQ(t.id_to_token(6023), "hi");
  EXPECT_EQ(t.vocab_size(), 151669u);
}

TEST(TokenizerPipeline, AddedTokenStripsAndNormalizes) {
  json j = read_json(data_dir() / "mistral/tokenizer.json");
  j["added_tokens"].push_back({{"id", 32000},
                               {"content", "foo"},
                               {"single_word", false},
                               {"lstrip", true},
                               {"rstrip", true},
                               {"normalized", true},
                               {"special", false}});
  Tokenizer t = Tokenizer::from_json(j, "mistral+foo");
  Encoding e = t.encode("a  foo  b");
  // "foo" is normalised to "▁foo" (the Prepend normalizer) and matched on the normalised text.
  EXPECT_EQ(e.ids, (std::vector<uint32_t>{1, 264, 28705, 8014, 28705, 287}));
  EXPECT_EQ(char_offsets(e, "a  foo  b"),
            (std::vector<std::pair<size_t, size_t>>{{0, 0}, {0, 1}, {1, 2}, {2, 6}, {6, 7}, {7, 9}}));
}

TEST(TokenizerPipeline, BatchTruncationWithStrideAndPadding) {
  Tokenizer t = Tokenizer::from_pretrained((data_dir() / "bert-base-uncased").string());
  std::vector<std::string> texts = {"one two three four five six seven", "hi"};
  EncodeOptions o;
  o.max_length = 6;
  o.stride = 1;
  o.padding = Padding::kLongest;
  o.pad_side = Side::kLeft;
  std::vector<Encoding> out = t.encode_batch(texts, o);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].tokens, (std::vector<std::string>{"[CLS]", "one", "two", "three", "four", "[SEP]"}));
  ASSERT_EQ(out[0].overflowing.size(), 1u);  // 7 words, 4 per piece, advancing 3
  EXPECT_EQ(out[0].overflowing[0].tokens, (std::vector<std::string>{"[CLS]", "four", "five", "six", "seven", "[SEP]"}));
  EXPECT_EQ(out[1].tokens, (std::vector<std::string>{"[PAD]", "[PAD]", "[PAD]", "[CLS]", "hi", "[SEP]"}));
  EXPECT_EQ(out[1].attention_mask, (std::vector<uint32_t>{0, 0, 0, 1, 1, 1}));
  for (size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(t.encode(texts[i]).ids.size() >= 3, true);
  o.max_length = 1;
  EXPECT_THROW(t.encode_batch(texts, o), Error);
}

TEST(TokenizerPipeline, LegacyAndJsonGpt2Agree) {
  Tokenizer legacy =
      Tokenizer::from_gpt2_files((data_dir() / "gpt2/vocab.json").string(), (data_dir() / "gpt2/merges.txt").string());
  Tokenizer file = Tokenizer::from_file((data_dir() / "gpt2/tokenizer.json").string());
  std::string text = "Hello  world!\n\t 你好 <|endoftext|> e\xcc\x81";
  EXPECT_EQ(legacy.encode(text).ids, file.encode(text).ids);
  EXPECT_EQ(legacy.encode(text).offsets, file.encode(text).offsets);
  EXPECT_EQ(legacy.decode(legacy.encode(text).ids), text);
}

}  // namespace
}  // namespace glint
