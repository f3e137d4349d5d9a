#include "app/commands/registry.hpp"

#include <algorithm>
#include <utility>

namespace tessera::app {
namespace {

std::vector<std::pair<std::string, AddCommand>>& registry() {
  static std::vector<std::pair<std::string, AddCommand>> commands;
  return commands;
}

}  // namespace

CommandRegistration::CommandRegistration(std::string name, AddCommand add) {
  registry().emplace_back(std::move(name), add);
}

std::vector<AddCommand> registered_commands() {
  auto sorted = registry();
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<AddCommand> out;
  for (const auto& entry : sorted) out.push_back(entry.second);
  return out;
}

}  // namespace tessera::app
