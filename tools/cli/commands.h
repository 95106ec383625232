// The `glint` subcommands: each file in tools/cli adds one with add_<name>_command(app).
#pragma once
#include <CLI/CLI.hpp>

namespace glint::cli {

void add_devices_command(CLI::App& app);
void add_demo_command(CLI::App& app);

}  // namespace glint::cli
