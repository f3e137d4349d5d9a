// The engine flag table as users see it: `--help` of each command that runs an Engine lists
// exactly the rows that command takes, with their help and default, and the README's "Flags"
// section has one line per row naming its field, default and commands, so the docs cannot drift
// from the code.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "app/commands/engine_flag_table.hpp"
#include "tests/support/cli_runner.hpp"

namespace tessera::app {
namespace {

constexpr EngineCommand kCommands[] = {EngineCommand::generate, EngineCommand::serve,
                                       EngineCommand::worker};

std::string default_text(const EngineFlagRow& row) {
  return row.required ? "required" : row.show(actors::EngineConfig{});
}

// "generate, serve, worker": the commands that take the row, in the order of kCommands.
std::string commands_text(const EngineFlagRow& row) {
  std::string text;
  for (const auto command : kCommands) {
    if (row.commands.has(command)) text += (text.empty() ? "" : ", ") + std::string(to_string(command));
  }
  return text;
}

TEST(EngineFlagDocs, HelpOfEachCommandListsItsRows) {
  for (const auto command : kCommands) {
    const auto result = testing::run_tessera(std::string(to_string(command)) + " --help");
    ASSERT_EQ(result.exit_code, 0) << to_string(command) << ": " << result.err;
    const std::string& help = result.out;
    for (const auto& row : engine_flag_rows()) {
      const std::string listed = "  " + std::string(row.flag) + " " + std::string(row.value_name);
      if (row.commands.has(command)) {
        EXPECT_NE(help.find(listed), std::string::npos) << to_string(command) << ": " << row.flag;
        EXPECT_NE(help.find(help_text(row)), std::string::npos)
            << to_string(command) << ": " << row.flag << "'s help";
      } else {
        EXPECT_EQ(help.find("  " + std::string(row.flag) + " "), std::string::npos)
            << to_string(command) << " should not take " << row.flag;
      }
    }
  }
}

// The lines of the README's "## Flags" section that are rows of its table ("| `--tp N` | …").
std::vector<std::string> readme_flag_lines() {
  std::ifstream in(std::string(TESSERA_SOURCE_DIR) + "/README.md");
  std::stringstream text;
  text << in.rdbuf();
  const std::string readme = text.str();
  const auto begin = readme.find("\n## Flags\n");
  EXPECT_NE(begin, std::string::npos) << "README.md has no '## Flags' section";
  if (begin == std::string::npos) return {};
  const auto end = readme.find("\n## ", begin + 1);
  std::istringstream section(readme.substr(begin, end - begin));
  std::vector<std::string> lines;
  for (std::string line; std::getline(section, line);) {
    if (line.starts_with("| `--")) lines.push_back(line);
  }
  return lines;
}

// A Markdown table needs "|" inside a cell escaped: auto\|cpu\|cuda.
std::string in_table_cell(std::string_view text) {
  std::string cell;
  for (const char c : text) cell += c == '|' ? std::string("\\|") : std::string(1, c);
  return cell;
}

TEST(EngineFlagDocs, ReadmeFlagsSectionHasEveryRowAndNoOther) {
  const auto lines = readme_flag_lines();
  EXPECT_EQ(lines.size(), engine_flag_rows().size()) << "the README lists other flags than the table";
  for (const auto& row : engine_flag_rows()) {
    const std::string start =
        "| `" + std::string(row.flag) + " " + in_table_cell(row.value_name) + "` |";
    const auto line = std::find_if(lines.begin(), lines.end(),
                                   [&](const std::string& l) { return l.starts_with(start); });
    ASSERT_NE(line, lines.end()) << "README.md's Flags section has no line starting " << start;
    EXPECT_NE(line->find("| `" + std::string(row.field) + "` |"), std::string::npos)
        << *line << "\nshould name the field " << row.field;
    EXPECT_NE(line->find("| " + default_text(row) + " |"), std::string::npos)
        << *line << "\nshould give the default " << default_text(row);
    EXPECT_NE(line->find("| " + commands_text(row) + " |"), std::string::npos)
        << *line << "\nshould name the commands " << commands_text(row);
  }
}

}  // namespace
}  // namespace tessera::app
