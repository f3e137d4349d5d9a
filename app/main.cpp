// The tessera command line. Each subcommand lives in app/commands/ and registers itself.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

#include "app/commands/registry.hpp"
#include "runtime/core/error.hpp"

int main(int argc, char** argv) {
  CLI::App app{"tessera: serve large language models across GPUs and nodes", "tessera"};
  app.require_subcommand(1);
  for (auto add : tessera::app::registered_commands()) add(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const tessera::Error& e) {
    std::fprintf(stderr, "tessera: %s error: %s\n",
                 std::string(tessera::to_string(e.category())).c_str(), e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tessera: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
