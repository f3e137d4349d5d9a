#pragma once
// Checks that code throws tessera::Error of a category with a message naming what it should.
#include <gtest/gtest.h>

#include <exception>
#include <string>
#include <vector>

#include "runtime/core/error.hpp"

namespace tessera::test {

// Runs `f`, which must throw tessera::Error; returns it (or a placeholder after a test failure).
template <class F>
tessera::Error expect_error(F&& f) {
  try {
    f();
  } catch (const tessera::Error& e) {
    return e;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected tessera::Error, got another exception: " << e.what();
    return tessera::Error(tessera::ErrorCategory::internal, "");
  }
  ADD_FAILURE() << "expected tessera::Error, nothing was thrown";
  return tessera::Error(tessera::ErrorCategory::internal, "");
}

inline void expect_error_mentions(const tessera::Error& e, tessera::ErrorCategory category,
                                  const std::vector<std::string>& needles) {
  EXPECT_EQ(e.category(), category) << "message: " << e.what();
  const std::string message = e.what();
  for (const auto& n : needles) {
    EXPECT_NE(message.find(n), std::string::npos) << "'" << n << "' not in: " << message;
  }
}

}  // namespace tessera::test
