// glint: the command-line tool. Global options choose the device and the log level; subcommands do the work.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <vector>

#include "runtime/core/device.h"
#include "runtime/core/error.h"
#include "tools/cli/commands.h"

namespace glint::cli {
namespace {
std::vector<AddCommand>& commands() {
  static std::vector<AddCommand> c;
  return c;
}
}  // namespace
CommandRegistration::CommandRegistration(AddCommand add) { commands().push_back(add); }
void add_registered_commands(CLI::App& app) {
  for (AddCommand add : commands()) add(app);
}
}  // namespace glint::cli

int main(int argc, char** argv) {
  CLI::App app{"glint: Hugging Face models on any Vulkan GPU, or the CPU"};
  app.require_subcommand(1);
  std::string device, log_level = "warn";
  app.add_option("--device", device, "cpu, vulkan or vulkan:N (default: $GLINT_DEVICE, else the first GPU, else cpu)")
      ->envname("GLINT_DEVICE");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")->capture_default_str();
  glint::cli::add_registered_commands(app);
  app.parse_complete_callback([&] {
    spdlog::set_pattern("%^[%l]%$ %v");
    spdlog::set_level(spdlog::level::from_str(log_level));
    if (!device.empty()) glint::set_default_device(glint::Device::parse(device));
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const glint::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
