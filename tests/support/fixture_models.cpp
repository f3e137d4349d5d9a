#include "tests/support/fixture_models.hpp"

#include <algorithm>
#include <fstream>
#include <stdexcept>

namespace tessera::testing {

std::vector<std::string> fixture_model_names() {
  std::vector<std::string> names;
  if (!std::filesystem::exists(fixture_models_dir())) return names;
  for (const auto& entry : std::filesystem::directory_iterator(fixture_models_dir())) {
    if (std::filesystem::exists(entry.path() / "golden.json")) {
      names.push_back(entry.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> moe_fixture_model_names() {
  std::vector<std::string> names;
  for (const auto& name : fixture_model_names()) {
    const auto config = runtime::ModelConfig::load(fixture_models_dir() / name);
    const auto& layers = config.stack.layers;
    if (std::any_of(layers.begin(), layers.end(),
                    [](const runtime::LayerSpec& l) { return l.moe.has_value(); })) {
      names.push_back(name);
    }
  }
  return names;
}

nlohmann::json read_json_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  return nlohmann::json::parse(in);
}

std::unique_ptr<LoadedFixture> load_fixture(const std::string& name) {
  const auto dir = fixture_models_dir() / name;
  auto fixture = std::make_unique<LoadedFixture>();
  const auto config = runtime::ModelConfig::load(dir);
  const auto plan = runtime::ShardPlan::make(config, 0, 1);
  const auto checkpoint = runtime::Checkpoint::open(dir);
  fixture->model = std::make_unique<runtime::Transformer>(config, plan, checkpoint,
                                                          fixture->backend, fixture->communicator);
  fixture->golden = read_json_file(dir / "golden.json");
  return fixture;
}

}  // namespace tessera::testing
