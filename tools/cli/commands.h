// The `glint` subcommands. Each file in tools/cli registers one with a file-scope
//   const CommandRegistration reg(add_<name>_command);
// so adding a subcommand never edits main.cpp. Subcommands appear in `glint --help` sorted by name.
#pragma once
#include <CLI/CLI.hpp>

namespace glint::cli {

using AddCommand = void (*)(CLI::App& app);
struct CommandRegistration {
  explicit CommandRegistration(AddCommand add);
};
void add_registered_commands(CLI::App& app);
// The `train` subcommand that every trainer adds its method to (lm, sft, dpo, ...), made by whichever registers
// first: registration order across files is not something to rely on.
CLI::App* train_command(CLI::App& app);

}  // namespace glint::cli
