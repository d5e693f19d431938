// Subcommand registry: each tools/cmd_*.cc registers itself with a static CommandRegistration, so adding a
// subcommand touches one new file only. main.cc builds the CLI11 app from the registry.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace pocket {

// Declares the subcommand's flags on `app` and returns the action to run after parsing (its exit code).
using CommandSetup = std::function<std::function<int()>(CLI::App& app)>;

struct CommandSpec {
  std::string name;
  std::string description;
  CommandSetup setup;
};

std::vector<CommandSpec>& command_registry();

struct CommandRegistration {
  CommandRegistration(std::string name, std::string description, CommandSetup setup) {
    command_registry().push_back({std::move(name), std::move(description), std::move(setup)});
  }
};

}  // namespace pocket
