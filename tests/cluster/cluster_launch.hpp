#pragma once
// Launch lines for a head and its workers shared by the TLS, network-namespace and example
// tests: each node's environment, `tessera generate` for a greedy golden case, and the case
// itself from a fixture's golden.json (made by HF transformers, an independent reference).
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/fixture_models.hpp"

namespace tessera::testing::launch {

using Environment = std::map<std::string, std::string>;

struct GoldenCase {
  std::filesystem::path model;
  std::string prompt_ids;  // "1,2,3"
  int max_tokens = 0;
  nlohmann::json expected;  // the generated ids
};

inline GoldenCase golden_case(const std::string& fixture) {
  GoldenCase g;
  g.model = fixture_models_dir() / fixture;
  const auto c = read_json_file(g.model / "golden.json").at("cases").at(0);
  for (const auto& id : c.at("prompt_ids")) {
    g.prompt_ids += (g.prompt_ids.empty() ? "" : ",") + std::to_string(id.get<int>());
  }
  g.max_tokens = c.at("max_new_tokens").get<int>();
  g.expected = c.at("generated_ids");
  return g;
}

inline std::vector<std::string> generate_arguments(const GoldenCase& g, int ranks) {
  return {"generate", "--model", g.model.string(), "--device", "cpu", "--tp", std::to_string(ranks),
          "--prompt-ids", g.prompt_ids, "--max-tokens", std::to_string(g.max_tokens),
          "--temperature", "0", "--json"};
}

inline std::vector<std::string> worker_arguments(const std::filesystem::path& model, int ranks) {
  return {"worker", "--model", model.string(), "--device", "cpu", "--tp", std::to_string(ranks)};
}

inline Environment head_environment(int port, int workers, int world_size,
                                    const std::string& secret = "launch-secret") {
  return {{"TESSERA_MN_GLOBAL_WORLD_SIZE", std::to_string(world_size)},
          {"TESSERA_MN_HEAD_NUM_WORKERS", std::to_string(workers)},
          {"TESSERA_MN_HEAD_PORT", std::to_string(port)},
          {"TESSERA_CLUSTER_SECRET", secret},
          {"TESSERA_MN_JOIN_TIMEOUT", "60"}};
}

inline Environment worker_environment(int id, const std::string& head_address,
                                      const std::string& secret = "launch-secret") {
  return {{"TESSERA_MN_WORKER_ID", std::to_string(id)},
          {"TESSERA_MN_WORKER_SERVER_ADDR", head_address},
          {"TESSERA_CLUSTER_SECRET", secret},
          {"TESSERA_MN_JOIN_TIMEOUT", "60"}};
}

inline Environment with(Environment base, const Environment& extra) {
  for (const auto& [k, v] : extra) base[k] = v;
  return base;
}

// The token ids a `generate --json` printed, or null when its output was not that.
inline nlohmann::json printed_tokens(const std::string& out) {
  const auto parsed = nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.contains("token_ids")) return nullptr;
  return parsed.at("token_ids");
}

}  // namespace tessera::testing::launch
