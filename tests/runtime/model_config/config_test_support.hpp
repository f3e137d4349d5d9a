#pragma once
// Helpers for config tests: a scratch folder for config files and the shared error checks.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "runtime/core/error.hpp"
#include "tests/support/expect_error.hpp"
#include "tests/support/scratch_dir.hpp"

namespace tessera::test {

using ConfigDir = ScratchDir;

}  // namespace tessera::test
