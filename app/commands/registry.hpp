#pragma once
// Subcommands register themselves from their own file, so adding a command touches no other file:
//   static const CommandRegistration registration{"tokenize", add_tokenize_command};
#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace tessera::app {

using AddCommand = void (*)(CLI::App& root);

struct CommandRegistration {
  CommandRegistration(std::string name, AddCommand add);
};

// Registered commands, sorted by name so `tessera --help` lists them in a stable order.
std::vector<AddCommand> registered_commands();

}  // namespace tessera::app
