#pragma once
// The golden fixture models under tests/data/models (made by tools/make_golden.py with HF
// transformers) and helpers to load them on the CPU backend.
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "runtime/backend/cpu_backend.hpp"
#include "runtime/checkpoint/checkpoint.hpp"
#include "runtime/comm/communicator.hpp"
#include "runtime/model/transformer.hpp"

namespace tessera::testing {

inline std::filesystem::path fixture_models_dir() {
  return std::filesystem::path(TESSERA_TEST_DATA_DIR) / "models";
}

// Names of every fixture folder that holds a golden.json.
std::vector<std::string> fixture_model_names();
// Those whose models have mixture-of-experts layers.
std::vector<std::string> moe_fixture_model_names();

nlohmann::json read_json_file(const std::filesystem::path& path);

// A fixture loaded whole (tensor-parallel size 1) on the CPU backend.
struct LoadedFixture {
  runtime::CpuBackend backend;
  runtime::SingleRankCommunicator communicator;
  std::unique_ptr<runtime::Transformer> model;
  nlohmann::json golden;
};

std::unique_ptr<LoadedFixture> load_fixture(const std::string& name);

}  // namespace tessera::testing
