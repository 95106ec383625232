// Alignment data in TRL's formats against TRL's own dataset preparation (tools/make_alignment_chat_fixtures.py):
// chat messages with an explicit prompt, whole conversations with an implicit prompt, plain text with and without a
// prompt, unpaired KTO rows; the token ids of prompt, chosen and rejected equal DPOTrainer's and KTOTrainer's, and
// prompt + completion equals RewardTrainer's whole sequence, for a ChatML tokenizer and Qwen3's.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/harness.h"
#include "tests/models/json_fixture.h"
#include "trainers/alignment/preference_data.h"

namespace glint::test {
namespace {

namespace fs = std::filesystem;
using namespace glint::train::alignment;

const fs::path kData = fs::path(__FILE__).parent_path() / "../data";
const fs::path kChat = kData / "alignment" / "chat";

fs::path tokenizer_dir(const std::string& name) {
  return name == "tiny-chat" ? kData / "models" / "tiny-chat" : kData / "tokenizers" / name;
}

std::vector<int32_t> ids(const nlohmann::json& v) { return v.get<std::vector<int32_t>>(); }

std::vector<int32_t> cat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

class AlignmentChatData : public ::testing::TestWithParam<std::string> {};

TEST_P(AlignmentChatData, PreferenceRowsMatchTrl) {
  const Tokenizer tok = Tokenizer::from_pretrained(tokenizer_dir(GetParam()).string());
  const nlohmann::json expected = read_fixture(kChat / "expected.json")[GetParam()];
  for (const std::string name : {"conversational", "implicit", "plain", "plain_implicit"}) {
    SCOPED_TRACE(name);
    const std::vector<PreferenceRow> rows = read_preference_jsonl((kChat / (name + ".jsonl")).string(), tok, 0);
    const nlohmann::json& dpo = expected[name];
    const nlohmann::json& reward = expected["reward_" + name];
    ASSERT_EQ(rows.size(), dpo.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      EXPECT_EQ(rows[i].prompt, ids(dpo[i]["prompt_ids"])) << "row " << i;
      EXPECT_EQ(rows[i].chosen, ids(dpo[i]["chosen_ids"])) << "row " << i;
      EXPECT_EQ(rows[i].rejected, ids(dpo[i]["rejected_ids"])) << "row " << i;
      EXPECT_EQ(cat(rows[i].prompt, rows[i].chosen), ids(reward[i]["chosen_ids"])) << "row " << i;
      EXPECT_EQ(cat(rows[i].prompt, rows[i].rejected), ids(reward[i]["rejected_ids"])) << "row " << i;
    }
  }
}

TEST_P(AlignmentChatData, UnpairedRowsMatchTrl) {
  const Tokenizer tok = Tokenizer::from_pretrained(tokenizer_dir(GetParam()).string());
  const nlohmann::json expected = read_fixture(kChat / "expected.json")[GetParam()]["unpaired"];
  const std::vector<UnpairedRow> rows = read_unpaired_jsonl((kChat / "unpaired.jsonl").string(), tok, 0);
  ASSERT_EQ(rows.size(), expected.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].prompt, ids(expected[i]["prompt_ids"])) << "row " << i;
    EXPECT_EQ(rows[i].completion, ids(expected[i]["completion_ids"])) << "row " << i;
  }
  EXPECT_TRUE(rows[0].desirable);
  EXPECT_FALSE(rows[1].desirable);
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, AlignmentChatData, ::testing::Values("tiny-chat", "qwen3"),
                         [](const auto& info) { return info.param == "tiny-chat" ? "TinyChat" : "Qwen3"; });

TEST(AlignmentChatData, MaxLengthCutsTheCompletions) {
  const Tokenizer tok = Tokenizer::from_pretrained(tokenizer_dir("tiny-chat").string());
  const nlohmann::json expected = read_fixture(kChat / "expected.json")["tiny-chat"]["plain"];
  const std::vector<PreferenceRow> rows = read_preference_jsonl((kChat / "plain.jsonl").string(), tok, 10);
  for (size_t i = 0; i < rows.size(); ++i) {
    const std::vector<int32_t> prompt = ids(expected[i]["prompt_ids"]), chosen = ids(expected[i]["chosen_ids"]);
    EXPECT_EQ(rows[i].prompt, prompt);
    EXPECT_EQ(rows[i].chosen, std::vector<int32_t>(chosen.begin(), chosen.begin() + (10 - int64_t(prompt.size()))));
    EXPECT_EQ(rows[i].prompt.size() + rows[i].rejected.size(), 10u);
  }
}

TEST(AlignmentChatData, BadRowsAreErrors) {
  const fs::path dir = fs::temp_directory_path() / ("glint_alignment_chat_" + std::to_string(getpid()));
  fs::create_directories(dir);
  const auto write = [&](const std::string& name, const std::string& line) {
    std::ofstream(dir / name) << line << "\n";
    return (dir / name).string();
  };
  const Tokenizer chat = Tokenizer::from_pretrained(tokenizer_dir("tiny-chat").string());
  const std::string user = R"([{"role": "user", "content": "Hi"}])";
  const std::string mixed = write("mixed.jsonl", R"({"prompt": )" + user + R"(, "chosen": "text", "rejected": "x"})");
  EXPECT_GLINT_ERROR(read_preference_jsonl(mixed, chat, 0), "'chosen' must be a list of messages");
  const std::string no_role = write("no_role.jsonl", R"({"prompt": )" + user +
                                                         R"(, "chosen": [{"role": "assistant"}, {"x": 1}], )"
                                                         R"("rejected": [{"role": "assistant", "content": "b"}]})");
  EXPECT_GLINT_ERROR(read_preference_jsonl(no_role, chat, 0), "without a string 'role'");
  const std::string unshared = write("unshared.jsonl", R"({"chosen": "Yes.", "rejected": "No."})");
  EXPECT_GLINT_ERROR(read_preference_jsonl(unshared, chat, 0), "must start alike");
  const Tokenizer no_template = Tokenizer::from_pretrained((kData / "tokenizers" / "gpt2").string());
  EXPECT_GLINT_ERROR(read_preference_jsonl((kChat / "conversational.jsonl").string(), no_template, 0),
                     "has no chat template");
  EXPECT_GLINT_ERROR(read_preference_jsonl((kChat / "conversational.jsonl").string(), chat, 24), "leaves no room");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace glint::test
