#pragma once
// The one table of the flags that set EngineConfig fields (actors/engine_config.hpp). `serve`,
// `generate` and `worker` register their engine flags from it (add_engine_flags), so a flag is
// spelled, explained and checked the same way in each; the README's "Flags" section lists the
// same rows, and tests/app hold both to it.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "actors/engine_config.hpp"

namespace tessera::app {

// The commands that run an Engine, as bits so that a row can name several.
enum class EngineCommand : std::uint8_t { generate = 1, serve = 2, worker = 4 };

std::string_view to_string(EngineCommand command);

struct EngineCommands {
  std::uint8_t bits = 0;

  bool has(EngineCommand command) const { return (bits & static_cast<std::uint8_t>(command)) != 0; }
};

constexpr EngineCommands operator|(EngineCommand a, EngineCommand b) {
  return {static_cast<std::uint8_t>(static_cast<std::uint8_t>(a) | static_cast<std::uint8_t>(b))};
}
constexpr EngineCommands operator|(EngineCommands a, EngineCommand b) {
  return {static_cast<std::uint8_t>(a.bits | static_cast<std::uint8_t>(b))};
}

struct EngineFlagRow {
  std::string_view flag;        // "--kv-block-size"
  std::string_view field;       // the EngineConfig member it sets: "block_size"
  std::string_view value_name;  // what --help calls its value: "N", "SECONDS", "DIR"
  std::string_view help;        // what it means; --help adds the default
  EngineCommands commands;      // the commands that take it
  bool required = false;        // no default: the command refuses to run without it
  // Reads `text` (the value as typed) into the field; throws Error naming `flag` when the text is
  // not a value the field may take.
  void (*set)(std::string_view flag, const std::string& text, actors::EngineConfig& config);
  // The field's value as the flag would take it, for the default --help shows.
  std::string (*show)(const actors::EngineConfig& config);
};

// Every row, in the order --help and the README list them.
std::span<const EngineFlagRow> engine_flag_rows();

// An EngineConfig field that no flag sets, because it is derived from other settings.
struct DerivedEngineField {
  std::string_view field;
  std::string_view derived_from;
};

// The fields the table leaves out on purpose, and why.
std::span<const DerivedEngineField> derived_engine_fields();

// The row's help with its default: "Tokens per KV-cache block (default 16)". What --help shows
// beside the flag.
std::string help_text(const EngineFlagRow& row);

}  // namespace tessera::app
