// The engine flag table (app/commands/engine_flag_table.hpp), row by row: each flag's value
// reaches its EngineConfig field through make_engine_config, a bad value is refused naming the
// flag, and every EngineConfig field is either set by a row or listed as derived. The expected
// values below are written out here, not taken from the table, so a row that sets the wrong
// field, scales a unit wrongly or accepts a bad value fails.
#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <ostream>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>

#include "app/commands/engine_flags.hpp"
#include "runtime/core/error.hpp"

namespace tessera::app {

// For gtest's messages: a row by its flag, not its bytes. Beside EngineFlagRow's namespace, where
// gtest finds it.
void PrintTo(const EngineFlagRow& row, std::ostream* out) { *out << row.flag; }

namespace {

using actors::EngineConfig;
using std::chrono::milliseconds;

const std::string kModel = std::string(TESSERA_SOURCE_DIR) + "/models/kjv-tiny";

// What the test gives each flag, what the field must then hold, and a value it must refuse.
struct Example {
  std::string good;
  std::function<bool(const EngineConfig&)> holds;
  std::string bad;
};

const std::map<std::string, Example>& examples() {
  static const std::map<std::string, Example> table{
      {"--model", {"/models/elsewhere", [](const EngineConfig& c) {
                     return c.model_dir == std::filesystem::path("/models/elsewhere");
                   }, ""}},
      {"--tp", {"3", [](const EngineConfig& c) { return c.tensor_parallel == 3; }, "0"}},
      {"--ep", {"4", [](const EngineConfig& c) { return c.expert_parallel == 4; }, "0"}},
      {"--device", {"cpu", [](const EngineConfig& c) { return c.device == actors::DeviceKind::cpu; },
                    "gpu"}},
      {"--gpu-memory-utilization",
       {"0.5", [](const EngineConfig& c) { return c.gpu_memory_utilization == 0.5; }, "1.5"}},
      {"--kv-blocks", {"100", [](const EngineConfig& c) { return c.kv_blocks == 100; }, "-1"}},
      {"--kv-memory",
       {"3MiB", [](const EngineConfig& c) { return c.kv_memory_bytes == 3 * 1024 * 1024; }, "3MB"}},
      {"--kv-block-size", {"32", [](const EngineConfig& c) { return c.block_size == 32; }, "3"}},
      {"--max-batch-tokens",
       {"512", [](const EngineConfig& c) { return c.max_batch_tokens == 512; }, "0"}},
      {"--max-running", {"8", [](const EngineConfig& c) { return c.max_running == 8; }, "many"}},
      {"--actor-threads", {"6", [](const EngineConfig& c) { return c.actor_threads == 6; }, "-2"}},
      {"--start-timeout",
       {"2.5", [](const EngineConfig& c) { return c.start_timeout == milliseconds(2500); }, "0"}},
      {"--step-timeout",
       {"60", [](const EngineConfig& c) { return c.step_timeout == milliseconds(60000); }, "-5"}},
      {"--collective-timeout",
       {"0.25", [](const EngineConfig& c) { return c.collective_timeout == milliseconds(250); },
        "90000"}},
  };
  return table;
}

EngineFlags flags_with(const std::string& flag, const std::string& value) {
  EngineFlags flags;
  flags.given["--model"] = kModel;
  flags.given["--device"] = "cpu";  // any machine can give it
  flags.given[flag] = value;
  return flags;
}

class EngineFlagRowTest : public ::testing::TestWithParam<EngineFlagRow> {
 protected:
  const Example& example() const {
    const auto found = examples().find(std::string(GetParam().flag));
    if (found == examples().end()) {
      throw std::runtime_error("no example for " + std::string(GetParam().flag) +
                               ": add one to this test");
    }
    return found->second;
  }
};

TEST_P(EngineFlagRowTest, ValueReachesItsField) {
  const auto& row = GetParam();
  const auto& e = example();
  ASSERT_FALSE(e.holds(EngineConfig{})) << row.flag << ": the example must differ from the default";
  const auto config = make_engine_config(flags_with(std::string(row.flag), e.good));
  EXPECT_TRUE(e.holds(config)) << row.flag << " " << e.good << " did not set " << row.field;
}

TEST_P(EngineFlagRowTest, BadValueIsRefusedNamingTheFlag) {
  const auto& row = GetParam();
  const auto& e = example();
  try {
    make_engine_config(flags_with(std::string(row.flag), e.bad));
    ADD_FAILURE() << row.flag << " accepted '" << e.bad << "'";
  } catch (const Error& error) {
    EXPECT_EQ(error.category(), ErrorCategory::invalid_argument);
    const std::string message = error.what();
    EXPECT_EQ(message.rfind(std::string(row.flag) + " must be ", 0), 0u) << message;
    EXPECT_NE(message.find("(got '" + e.bad + "')"), std::string::npos) << message;
  }
}

TEST_P(EngineFlagRowTest, DefaultIsEngineConfigsOwn) {
  // Not giving the flag leaves the field as EngineConfig has it.
  const auto& row = GetParam();
  if (row.required) GTEST_SKIP() << row.flag << " has no default";
  EngineFlags flags;
  flags.given["--model"] = kModel;
  EXPECT_EQ(row.show(parse_engine_flags(flags)), row.show(EngineConfig{})) << row.flag;
}

std::string row_name(const ::testing::TestParamInfo<EngineFlagRow>& info) {
  std::string name;
  for (const char c : info.param.flag) {
    if (std::isalnum(static_cast<unsigned char>(c))) name += c;
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(EveryRow, EngineFlagRowTest, ::testing::ValuesIn(engine_flag_rows().begin(),
                                                                           engine_flag_rows().end()),
                         row_name);

TEST(EngineFlagTable, ExamplesCoverExactlyTheRows) {
  std::set<std::string> rows;
  for (const auto& row : engine_flag_rows()) rows.insert(std::string(row.flag));
  std::set<std::string> tested;
  for (const auto& [flag, example] : examples()) tested.insert(flag);
  EXPECT_EQ(rows, tested);
}

// The member names of struct EngineConfig, read from its header: a field added there without a
// row (or a line in the derived list) fails here.
std::set<std::string> engine_config_fields() {
  std::ifstream in(std::string(TESSERA_SOURCE_DIR) + "/actors/engine_config.hpp");
  std::stringstream text;
  text << in.rdbuf();
  const std::string source = text.str();
  const auto begin = source.find("struct EngineConfig {");
  const auto end = source.find("\n};", begin);
  EXPECT_NE(begin, std::string::npos);
  const std::string body = source.substr(begin, end - begin);
  // "  std::int64_t block_size = 16;  // …", "  std::chrono::milliseconds step_timeout{300000};"
  const std::regex member(R"(^\s+[A-Za-z_][\w:<>, ]*[\s>](\w+)\s*(=[^;]*|\{[^;]*\})?;)");
  std::set<std::string> fields;
  std::istringstream lines(body);
  for (std::string line; std::getline(lines, line);) {
    if (line.find_first_not_of(' ') == line.find("//")) continue;  // a comment line
    std::smatch match;
    if (std::regex_search(line, match, member)) fields.insert(match[1]);
  }
  return fields;
}

TEST(EngineFlagTable, EveryEngineConfigFieldHasARowOrIsDerived) {
  const auto fields = engine_config_fields();
  ASSERT_TRUE(fields.contains("block_size") && fields.contains("model_dir")) << "header not read";
  std::set<std::string> covered;
  for (const auto& row : engine_flag_rows()) {
    EXPECT_TRUE(covered.insert(std::string(row.field)).second) << row.field << " has two rows";
  }
  for (const auto& derived : derived_engine_fields()) {
    EXPECT_FALSE(derived.derived_from.empty()) << derived.field;
    EXPECT_TRUE(covered.insert(std::string(derived.field)).second) << derived.field;
  }
  EXPECT_EQ(fields, covered);
}

TEST(EngineFlagTable, UnitsAreReadAsWritten) {
  // Spot checks of the value forms the help promises, beyond each row's one example.
  EXPECT_EQ(make_engine_config(flags_with("--kv-memory", "1048576")).kv_memory_bytes, 1048576);
  EXPECT_EQ(make_engine_config(flags_with("--kv-memory", "2GiB")).kv_memory_bytes,
            2LL * 1024 * 1024 * 1024);
  EXPECT_EQ(make_engine_config(flags_with("--kv-memory", "1TiB")).kv_memory_bytes, 1LL << 40);
  EXPECT_THROW(make_engine_config(flags_with("--kv-memory", "2TiB")), Error);
  EXPECT_THROW(make_engine_config(flags_with("--kv-memory", "0KiB")), Error);
  // A millisecond's fraction rounds up, so a tiny timeout never becomes zero.
  EXPECT_EQ(make_engine_config(flags_with("--step-timeout", "0.0001")).step_timeout,
            milliseconds(1));
  EXPECT_THROW(make_engine_config(flags_with("--step-timeout", "nan")), Error);
  EXPECT_THROW(make_engine_config(flags_with("--kv-block-size", "512")), Error);
  EXPECT_EQ(make_engine_config(flags_with("--kv-block-size", "1")).block_size, 1);
  EXPECT_THROW(make_engine_config(flags_with("--tp", "2x")), Error);
}

// Hostile values: numbers past every type's range, exponents, infinities, signs, padding and
// other bases are refused by every row that reads a value, naming the flag; none wraps around.
TEST(EngineFlagTable, HostileValuesAreRefusedNamingTheFlag) {
  const std::vector<std::string> hostile{"99999999999999999999999", "-99999999999999999999999",
                                         "1e400", "inf", "-inf", " 1", "1 ", "0x10", "+", ""};
  for (const EngineFlagRow& row : engine_flag_rows()) {
    if (row.flag == "--model") continue;  // any text names a folder; loading checks it
    for (const std::string& value : hostile) {
      try {
        make_engine_config(flags_with(std::string(row.flag), value));
        ADD_FAILURE() << row.flag << " accepted '" << value << "'";
      } catch (const Error& e) {
        EXPECT_EQ(e.category(), ErrorCategory::invalid_argument) << row.flag << " '" << value << "'";
        EXPECT_EQ(std::string(e.what()).rfind(std::string(row.flag), 0), 0u) << e.what();
      }
    }
  }
}

TEST(EngineFlagTable, ClusterNodesKeepTheDefaultBlockSize) {
  // A worker's settings: make_engine_config resolves them without reaching the head.
  auto flags = flags_with("--kv-block-size", "16");
  flags.cluster.worker_id = "0";
  flags.cluster.worker_server_addr = "127.0.0.1:9";
  flags.cluster.cluster_secret = "secret";
  EXPECT_EQ(make_engine_config(flags).block_size, 16);
  flags.given["--kv-block-size"] = "32";
  try {
    make_engine_config(flags);
    ADD_FAILURE() << "a worker took --kv-block-size 32";
  } catch (const Error& error) {
    EXPECT_EQ(std::string(error.what()).rfind("--kv-block-size is 32", 0), 0u) << error.what();
  }
}

}  // namespace
}  // namespace tessera::app
