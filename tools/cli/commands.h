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

}  // namespace glint::cli
