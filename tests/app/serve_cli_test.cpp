// `tessera serve` refuses bad flags by name before it starts anything, and refuses an address it
// cannot listen on. (Serving itself is driven end to end by the Node tests in tests/node.)
#include <gtest/gtest.h>

#include "tests/support/cli_runner.hpp"

namespace tessera {
namespace {

using testing::run_tessera;

const std::string kModel = std::string(TESSERA_SOURCE_DIR) + "/models/kjv-tiny";

// Refused with a non-zero status (1 for tessera's checks, CLI11's own codes for values it cannot
// parse) and a message naming the flag, before the server says it is ready.
void expect_refused(const std::string& flags, const std::string& named) {
  const std::string port = flags.find("--port") == std::string::npos ? "--port 0 " : "";
  const auto result = run_tessera("serve --model '" + kModel + "' " + port + flags);
  EXPECT_GT(result.exit_code, 0) << flags << "\n" << result.err;
  EXPECT_NE(result.err.find(named), std::string::npos) << flags << "\n" << result.err;
  EXPECT_EQ(result.err.find("ready"), std::string::npos) << flags << "\n" << result.err;
}

TEST(ServeCli, BadFlagsAreNamed) {
  expect_refused("--io-threads 0", "--io-threads");
  expect_refused("--max-queue -1", "--max-queue");
  expect_refused("--max-body-bytes 10", "--max-body-bytes");
  expect_refused("--shutdown-timeout -1", "--shutdown-timeout");
  expect_refused("--host not-an-address", "--host");
  expect_refused("--tp 0", "--tp");
  expect_refused("--port 70000", "--port");
}

TEST(ServeCli, MissingModelIsNamed) {
  const auto result = run_tessera("serve --model /nonexistent/model --port 0");
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_NE(result.err.find("/nonexistent/model"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace tessera
