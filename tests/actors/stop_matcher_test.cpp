#include <gtest/gtest.h>

#include "actors/stop_matcher.hpp"

namespace tessera::actors {
namespace {

TEST(StopMatcher, HoldsBackPossibleStartsAndCutsBeforeTheStop) {
  StopMatcher m({"END"});
  EXPECT_EQ(m.push("hello E").text, "hello ");
  EXPECT_EQ(m.push("N").text, "");
  auto r = m.push("Dx");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.text, "");
  EXPECT_TRUE(m.push("more").stopped);
}

TEST(StopMatcher, ReleasesHeldTextWhenItCannotMatch) {
  StopMatcher m({"END", "\n\n"});
  EXPECT_EQ(m.push("a\n").text, "a");
  EXPECT_EQ(m.push("b").text, "\nb");
  EXPECT_EQ(m.push("EN").text, "");
  EXPECT_EQ(m.flush(), "EN");
}

TEST(StopMatcher, EarliestStopWins) {
  StopMatcher m({"cd", "b"});
  auto r = m.push("abcd");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.text, "a");
}

TEST(StopMatcher, IncludedStopIsDeliveredAndNothingAfterIt) {
  StopMatcher m({"END"}, /*include_stop=*/true);
  EXPECT_EQ(m.push("hello E").text, "hello ");
  EXPECT_EQ(m.push("N").text, "");
  auto r = m.push("Dx");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.text, "END");  // the stop string, but not the "x" after it
  EXPECT_EQ(m.flush(), "");
}

TEST(StopMatcher, IncludedStopOfTwoStartingTogetherIsTheShorter) {
  StopMatcher m({"bcd", "bc"}, /*include_stop=*/true);
  auto r = m.push("abcde");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.text, "abc");
}

TEST(StopMatcher, NoStopsPassesEverything) {
  StopMatcher m({});
  EXPECT_EQ(m.push("abc").text, "abc");
  EXPECT_EQ(m.flush(), "");
}

}  // namespace
}  // namespace tessera::actors
