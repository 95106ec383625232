// Sharded checkpoints: reading the save_pretrained layout and writing it byte for byte as huggingface_hub +
// transformers do (fixtures from tools/make_safetensors_fixtures.py).
#include <nlohmann/json.hpp>

#include "runtime/core/error.h"
#include "runtime/io/checkpoint.h"
#include "tests/harness.h"
#include "tests/io/io_test_util.h"

namespace glint::test {
namespace {

namespace fs = std::filesystem;
using io::Checkpoint;

const fs::path kSharded = io_data_dir() / "safetensors" / "sharded";
// The order the Python script inserted them: sharding follows it.
const std::vector<std::string> kOrder = {"model.embed_tokens.weight",         "model.layers.0.attn.q_proj.weight",
                                         "model.layers.0.attn.k_proj.weight", "model.layers.0.norm.weight",
                                         "model.layers.1.mlp.weight",         "model.layers.1.norm.weight",
                                         "model.layers.1.positions",          "lm_head.weight"};

TEST(Checkpoint, ReadsAShardedFolder) {
  auto ck = Checkpoint::open(kSharded.string());
  std::vector<std::string> sorted = kOrder;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(ck->names(), sorted);
  EXPECT_EQ(ck->files().size(), 4u);
  EXPECT_EQ(ck->index_metadata()["total_size"], 3136);
  EXPECT_EQ(fs::path(ck->file_of("model.layers.1.mlp.weight").path()).filename(), "model-00001-of-00004.safetensors");
  EXPECT_EQ(ck->info("model.layers.0.attn.k_proj.weight").dtype, io::StDType::BF16);
  EXPECT_EQ(ck->tensor("model.layers.1.positions").to_vector<int64_t>()[63], 63);
  EXPECT_EQ(ck->tensor("model.layers.1.norm.weight", Device::cpu(), DType::f16).to_f32()[0], 0.5f);
  EXPECT_GLINT_ERROR(ck->tensor("missing.weight"), "no tensor named 'missing.weight'");
  // The index file and a single shard open too.
  EXPECT_EQ(Checkpoint::open((kSharded / "model.safetensors.index.json").string())->names().size(), 8u);
  EXPECT_EQ(Checkpoint::open((kSharded / "model-00003-of-00004.safetensors").string())->names(),
            (std::vector<std::string>{"model.layers.1.positions"}));
}

TEST(Checkpoint, WritesShardsAndIndexLikeTransformers) {
  auto src = Checkpoint::open(kSharded.string());
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const auto& name : kOrder) tensors.emplace_back(name, src->tensor(name));
  TempDir dir;
  auto files = io::save_checkpoint(dir.path().string(), tensors, 1000);
  ASSERT_EQ(files.size(), 5u);
  for (const auto& f : files) EXPECT_EQ(read_file(dir.path() / f), read_file(kSharded / f)) << f;

  // Under the limit: one model.safetensors, and the shards of the earlier save are gone (a user's file is not).
  write_file(dir.path() / "notes.txt", "mine");
  EXPECT_EQ(io::save_checkpoint(dir.path().string(), tensors), (std::vector<std::string>{"model.safetensors"}));
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(dir.path())) left.push_back(e.path().filename().string());
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{"model.safetensors", "notes.txt"}));
  auto back = Checkpoint::open(dir.path().string());
  EXPECT_EQ(back->names().size(), 8u);
  EXPECT_EQ(back->tensor("lm_head.weight").to_f32(), src->tensor("lm_head.weight").to_f32());
  EXPECT_EQ(back->files()[0]->metadata().at("format"), "pt");
  // And back to shards: the single file, which would shadow them, goes.
  io::save_checkpoint(dir.path().string(), tensors, 1000);
  EXPECT_FALSE(fs::exists(dir.path() / "model.safetensors"));
  EXPECT_EQ(Checkpoint::open(dir.path().string())->files().size(), 4u);
}

TEST(Checkpoint, RejectsIndexesThatLie) {
  TempDir dir;
  for (const auto& e : fs::directory_iterator(kSharded)) fs::copy(e.path(), dir.path() / e.path().filename());
  std::string index = dir / "model.safetensors.index.json";
  auto with_map = [&](const std::string& map) { write_file(index, R"({"metadata": {}, "weight_map": )" + map + "}"); };
  with_map(R"({"lm_head.weight": "model-00001-of-00004.safetensors"})");
  EXPECT_GLINT_ERROR(Checkpoint::open(dir.path().string()),
                     "tensor 'lm_head.weight' is listed in model-00001-of-00004.safetensors but that shard does not");
  with_map(R"({"w": "../../etc/passwd"})");
  EXPECT_GLINT_ERROR(Checkpoint::open(dir.path().string()), "tensor 'w' maps to '../../etc/passwd', outside");
  with_map(R"({"w": "/abs.safetensors"})");
  EXPECT_GLINT_ERROR(Checkpoint::open(dir.path().string()), "outside the checkpoint folder");
  with_map(R"({"w": 3})");
  EXPECT_GLINT_ERROR(Checkpoint::open(dir.path().string()), "tensor 'w' maps to 3");
  with_map(R"({"w": "missing.safetensors"})");
  EXPECT_GLINT_ERROR(Checkpoint::open(dir.path().string()), "missing.safetensors: cannot open");
  write_file(index, R"({"metadata": {}})");
  EXPECT_GLINT_ERROR(Checkpoint::open(dir.path().string()), "'weight_map' is missing or not an object");
  write_file(index, "{\"weight_map\": {,}");
  EXPECT_GLINT_ERROR(Checkpoint::open(dir.path().string()), "model.safetensors.index.json:1:17:");
  TempDir empty;
  EXPECT_GLINT_ERROR(Checkpoint::open(empty.path().string()), "neither model.safetensors.index.json nor");
}

TEST(Checkpoint, ParsesShardSizesAsHuggingfaceHub) {
  EXPECT_EQ(io::parse_shard_size("5GB"), 5'000'000'000u);
  EXPECT_EQ(io::parse_shard_size("500MB"), 500'000'000u);
  EXPECT_EQ(io::parse_shard_size("2GiB"), 2ull << 30);
  EXPECT_EQ(io::parse_shard_size("1.5kb"), 1500u);
  EXPECT_EQ(io::parse_shard_size(" 4096 "), 4096u);
  EXPECT_GLINT_ERROR(io::parse_shard_size("5 parsecs"), "cannot parse the shard size '5 parsecs'");
  EXPECT_GLINT_ERROR(io::parse_shard_size("GB"), "cannot parse");
}

}  // namespace
}  // namespace glint::test
