// Model ids resolved through a hub cache built in a temporary folder, as huggingface_hub lays it out.
#include <cstdlib>

#include "runtime/core/error.h"
#include "runtime/io/hub.h"
#include "tests/harness.h"
#include "tests/io/io_test_util.h"

namespace glint::test {
namespace {

namespace fs = std::filesystem;

const std::string kMain = "0123456789abcdef0123456789abcdef01234567";
const std::string kTag = "fedcba9876543210fedcba9876543210fedcba98";

// Sets the hub variables for one test and restores them after.
class Hub : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : kVars) {
      if (const char* old = std::getenv(v)) saved_.emplace_back(v, old);
      unsetenv(v);
    }
    cache_ = home_.path() / "hub";
    fs::path repo = cache_ / "models--org--tiny-model";
    write_file(repo / "refs" / "main", kMain + "\n");
    write_file(repo / "refs" / "v1.0", kTag);
    write_file(repo / "refs" / "refs" / "pr" / "1", kTag);  // huggingface_hub keeps PR refs there
    write_file(repo / "snapshots" / kMain / "config.json", "{}");
    write_file(repo / "snapshots" / kTag / "config.json", "{}");
    write_file(cache_ / "models--gpt2" / "refs" / "main", kMain);
    fs::create_directories(cache_ / "models--gpt2" / "snapshots" / kMain);
  }
  void TearDown() override {
    for (const char* v : kVars) unsetenv(v);
    for (const auto& [k, v] : saved_) setenv(k.c_str(), v.c_str(), 1);
  }
  std::string snapshot(const std::string& repo, const std::string& hash) const {
    return (cache_ / repo / "snapshots" / hash).string();
  }

  static constexpr const char* kVars[] = {"HF_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME", "HOME"};
  std::vector<std::pair<std::string, std::string>> saved_;
  TempDir home_;
  fs::path cache_;
};

TEST_F(Hub, FindsTheCacheFromTheEnvironment) {
  setenv("HOME", "/home/someone", 1);
  EXPECT_EQ(io::hub_cache_dir(), "/home/someone/.cache/huggingface/hub");
  setenv("XDG_CACHE_HOME", "/xdg", 1);
  EXPECT_EQ(io::hub_cache_dir(), "/xdg/huggingface/hub");
  setenv("HF_HOME", home_.path().c_str(), 1);
  EXPECT_EQ(io::hub_cache_dir(), cache_.string());
  setenv("HF_HUB_CACHE", "/elsewhere", 1);
  EXPECT_EQ(io::hub_cache_dir(), "/elsewhere");
}

TEST_F(Hub, ResolvesIdsRevisionsAndCommits) {
  setenv("HF_HOME", home_.path().c_str(), 1);
  EXPECT_EQ(io::resolve_model("org/tiny-model"), snapshot("models--org--tiny-model", kMain));
  EXPECT_EQ(io::resolve_model("org/tiny-model@main"), snapshot("models--org--tiny-model", kMain));
  EXPECT_EQ(io::resolve_model("org/tiny-model@v1.0"), snapshot("models--org--tiny-model", kTag));
  EXPECT_EQ(io::resolve_model("org/tiny-model@refs/pr/1"), snapshot("models--org--tiny-model", kTag));
  EXPECT_EQ(io::resolve_model("org/tiny-model@" + kTag), snapshot("models--org--tiny-model", kTag));
  EXPECT_EQ(io::resolve_model("gpt2"), snapshot("models--gpt2", kMain));
  // HF_HUB_CACHE takes precedence over HF_HOME.
  TempDir other;
  setenv("HF_HUB_CACHE", other.path().c_str(), 1);
  EXPECT_GLINT_ERROR(io::resolve_model("gpt2"), (other.path() / "models--gpt2" / "refs" / "main").string());
}

TEST_F(Hub, ALocalPathWins) {
  setenv("HF_HOME", home_.path().c_str(), 1);
  TempDir cwd_like;
  fs::path local = cwd_like.path() / "org" / "tiny-model";
  fs::create_directories(local);
  EXPECT_EQ(io::resolve_model(local.string()), local.string());
  std::string file = snapshot("models--org--tiny-model", kMain) + "/config.json";
  EXPECT_EQ(io::resolve_model(file), file);
}

TEST_F(Hub, AMissingModelListsWhereItLooked) {
  setenv("HF_HOME", home_.path().c_str(), 1);
  auto message = [](const std::string& id) {
    try {
      io::resolve_model(id);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  std::string m = message("org/absent");
  EXPECT_NE(m.find("[hub] model 'org/absent' not found; looked at:\n  org/absent (no such file or folder)"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find((cache_ / "models--org--absent" / "refs" / "main").string()), std::string::npos) << m;
  m = message("org/tiny-model@v2");
  EXPECT_NE(m.find("refs/v2 (missing"), std::string::npos) << m;
  m = message("org/tiny-model@" + std::string(40, 'a'));
  EXPECT_NE(m.find("snapshots/" + std::string(40, 'a') + " (no such snapshot folder)"), std::string::npos) << m;
  write_file(cache_ / "models--org--tiny-model" / "refs" / "broken", "not-a-hash");
  EXPECT_NE(message("org/tiny-model@broken").find("holds 'not-a-hash', not a commit hash"), std::string::npos);
  for (const std::string& bad : {"a/b/c", "org/name@../../x", "./x y", "org/na me"})
    EXPECT_NE(message(bad).find("no model id of the form org/name[@revision]"), std::string::npos) << bad;
}

}  // namespace
}  // namespace glint::test
