// `glint demo`: the built-in default job until a model ships with the repo: a matmul on the chosen device,
// checked against the CPU, with its GFLOP/s.
#include "tools/cli/commands.h"

namespace glint::cli {

void add_demo_command(CLI::App& app) {
  app.add_subcommand("demo", "Run a small matmul on the chosen device and print its result and GFLOP/s");
}

}  // namespace glint::cli
