// The head's admission rules: every refusal names the values involved, and rank ranges follow
// worker ids after the head's own ranks.
#include <gtest/gtest.h>

#include "net/cluster/admission.hpp"

namespace tessera::net {
namespace {

NodeFingerprint fingerprint() { return {"0.1.0", 0x1234, "F32", "cpu"}; }

AdmissionRules rules(int workers, int world, int head_ranks = 1) {
  return {"secret", fingerprint(), workers, world, head_ranks};
}

JoinRequest request(int id, int ranks = 1) { return {"secret", id, fingerprint(), ranks, 0}; }

void expect_reason(const std::string& reason, const std::vector<std::string>& fragments) {
  ASSERT_FALSE(reason.empty()) << "admitted; expected a refusal";
  for (const auto& f : fragments) {
    EXPECT_NE(reason.find(f), std::string::npos) << "'" << f << "' missing from: " << reason;
  }
}

TEST(Admission, RanksFollowWorkerIdsAfterTheHead) {
  Admission admission(rules(3, 6, 2));
  EXPECT_EQ(admission.admit(request(2, 1)), "");
  EXPECT_FALSE(admission.complete());
  EXPECT_EQ(admission.admit(request(0, 2)), "");
  EXPECT_EQ(admission.status(), "workers joined: 0, 2; awaited: 1");
  EXPECT_EQ(admission.admit(request(1, 1)), "");
  ASSERT_TRUE(admission.complete());
  const auto ranges = admission.assign();
  ASSERT_EQ(ranges.size(), 3u);
  EXPECT_EQ(ranges[0].first_rank, 2);  // worker 0: ranks 2-3
  EXPECT_EQ(ranges[0].ranks, 2);
  EXPECT_EQ(ranges[1].first_rank, 4);  // worker 1: rank 4
  EXPECT_EQ(ranges[2].first_rank, 5);  // worker 2: rank 5
}

TEST(Admission, WrongSecretNeverShowsEitherSecret) {
  Admission admission(rules(1, 2));
  auto r = request(0);
  r.secret = "guess";
  const auto reason = admission.admit(r);
  expect_reason(reason, {"worker 0", "wrong cluster secret"});
  EXPECT_EQ(reason.find("guess"), std::string::npos);
  EXPECT_EQ(reason.find("secret\""), std::string::npos);
}

TEST(Admission, FingerprintMismatchShowsBoth) {
  Admission admission(rules(1, 2));
  auto r = request(0);
  r.fingerprint.model_hash = 0xabcd;
  r.fingerprint.dtype = "BF16";
  expect_reason(admission.admit(r), {"head has tessera 0.1.0, model 0000000000001234, dtype F32",
                                     "worker 0 has tessera 0.1.0, model 000000000000abcd, dtype BF16"});
}

TEST(Admission, DuplicateAndOutOfRangeIds) {
  Admission admission(rules(2, 3));
  EXPECT_EQ(admission.admit(request(0)), "");
  expect_reason(admission.admit(request(0)), {"worker id 0", "duplicate"});
  expect_reason(admission.admit(request(2)), {"worker id 2", "out of range", "2 worker(s)", "ids 0 to 1"});
  // A worker that left frees its id.
  admission.withdraw(0);
  EXPECT_EQ(admission.admit(request(0)), "");
}

TEST(Admission, WorldSizeMustBeTheSumOfRanks) {
  {
    Admission admission(rules(1, 3));  // head 1 + worker 1 = 2, not 3
    expect_reason(admission.admit(request(0)), {"global world size is 3", "add up to 2"});
  }
  {
    Admission admission(rules(2, 3));  // worker 0 with 2 ranks leaves none for worker 1
    expect_reason(admission.admit(request(0, 2)),
                  {"global world size is 3", "2 of worker 0", "at least 1 for the workers still awaited",
                   "make 4"});
  }
  {
    Admission admission(rules(1, 2));
    auto r = request(0);
    r.global_world_size = 4;
    expect_reason(admission.admit(r), {"worker 0 was given global world size 4, the head 2"});
  }
}

}  // namespace
}  // namespace tessera::net
