// pocket: run open-weight language models privately on your own computer.
// The subcommands live in tools/cmd_*.cc and register themselves (command.h).
#include <algorithm>
#include <cstdio>
#include <exception>
#include <memory>

#include <CLI/CLI.hpp>

#include "command.h"

namespace pocket {

std::vector<CommandSpec>& command_registry() {
  static std::vector<CommandSpec> registry;
  return registry;
}

}  // namespace pocket

int main(int argc, char** argv) {
  CLI::App app{"pocket: run open-weight language models (GGUF) privately on your own computer"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "pocket 0.1.0");
  auto& registry = pocket::command_registry();
  std::sort(registry.begin(), registry.end(), [](auto& a, auto& b) { return a.name < b.name; });
  std::function<int()> action;
  for (auto& spec : registry) {
    CLI::App* sub = app.add_subcommand(spec.name, spec.description);
    auto run = spec.setup(*sub);
    sub->callback([&action, run] { action = run; });
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // Bad flags are bad input: one line naming the problem, exit code 2.
    std::fprintf(stderr, "pocket: %s\n", e.what());
    return 2;
  }
  try {
    return action ? action() : 2;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "pocket: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pocket: %s\n", e.what());
    return 1;
  }
}
