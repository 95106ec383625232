#include "runtime/io/hub.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "runtime/core/error.h"

namespace glint::io {

namespace fs = std::filesystem;

namespace {
std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

bool is_commit_hash(const std::string& s) {
  return s.size() == 40 &&
         std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(uint8_t(c)) && !std::isupper(uint8_t(c)); });
}

// Repository names on the hub: letters, digits, '-', '_', '.'; at most one '/' between owner and name.
bool is_model_id(const std::string& id) {
  auto part_ok = [](std::string_view p) {
    return !p.empty() && p != "." && p != ".." && std::all_of(p.begin(), p.end(), [](char c) {
      return std::isalnum(uint8_t(c)) || c == '-' || c == '_' || c == '.';
    });
  };
  auto slash = id.find('/');
  if (slash == std::string::npos) return part_ok(id);
  return part_ok(std::string_view(id).substr(0, slash)) && part_ok(std::string_view(id).substr(slash + 1));
}

// A revision names a file under refs/ ("main", "v1.0"; "refs/pr/1" is refs/refs/pr/1, as huggingface_hub stores it):
// it must not escape that folder.
bool is_revision(const std::string& rev) {
  if (rev.empty() || rev.front() == '/') return false;
  for (const auto& part : fs::path(rev))
    if (part == ".." || part == ".") return false;
  return true;
}
}  // namespace

std::string hub_cache_dir() {
  if (auto v = env("HF_HUB_CACHE"); !v.empty()) return v;
  if (auto v = env("HF_HOME"); !v.empty()) return (fs::path(v) / "hub").string();
  if (auto v = env("XDG_CACHE_HOME"); !v.empty()) return (fs::path(v) / "huggingface" / "hub").string();
  return (fs::path(env("HOME")) / ".cache" / "huggingface" / "hub").string();
}

std::string resolve_model(const std::string& id_or_path) {
  std::error_code ec;
  if (fs::exists(id_or_path, ec)) return id_or_path;
  std::vector<std::string> looked = {id_or_path + " (no such file or folder)"};
  auto not_found = [&](std::string why) {
    looked.push_back(std::move(why));
    std::string msg = "model '" + id_or_path + "' not found; looked at:";
    for (const auto& l : looked) msg += "\n  " + l;
    return msg;
  };

  std::string id = id_or_path, revision = "main";
  if (auto at = id.find('@'); at != std::string::npos) {
    revision = id.substr(at + 1);
    id = id.substr(0, at);
  }
  if (!is_model_id(id) || !is_revision(revision))
    fail("hub", not_found("the hub cache: not searched, since this is no model id of the form org/name[@revision]"));
  std::string folder = "models--";
  for (char c : id) folder += c == '/' ? std::string("--") : std::string(1, c);
  fs::path repo = fs::path(hub_cache_dir()) / folder;

  std::string commit = revision;
  if (!is_commit_hash(revision)) {
    fs::path ref = repo / "refs" / revision;
    std::ifstream in(ref);
    if (!in) fail("hub", not_found(ref.string() + " (missing: model or revision '" + revision + "' not in the cache)"));
    commit.clear();
    in >> commit;
    if (!is_commit_hash(commit)) fail("hub", not_found(ref.string() + " (holds '" + commit + "', not a commit hash)"));
  }
  fs::path snapshot = repo / "snapshots" / commit;
  if (!fs::is_directory(snapshot, ec)) fail("hub", not_found(snapshot.string() + " (no such snapshot folder)"));
  return snapshot.string();
}

}  // namespace glint::io
