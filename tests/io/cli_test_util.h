// Running the built `glint` CLI from a test: where the binary is, and a command's output and exit status.
#pragma once
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>

namespace glint::test {

// The `glint` binary of this build (beside the test binary's folder), or an empty path when it was not built.
inline std::filesystem::path glint_binary() {
  const auto p = std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path() / "glint";
  return std::filesystem::exists(p) ? p : std::filesystem::path();
}

// Runs `cmd` through the shell with stderr joined to stdout; returns the output and the exit status.
inline std::pair<std::string, int> run_command(const std::string& cmd) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return {"popen failed", -1};
  std::string out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int status = pclose(p);
  return {out, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

}  // namespace glint::test
