#include "sluice/policy/credentials/credential_pool.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "testing/fake_clock.hpp"
#include "testing/scripted_rng.hpp"

namespace sluice::policy {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

PoolState pool(std::initializer_list<const char*> fingerprints) {
  PoolState state;
  for (const char* fp : fingerprints) state.keys.push_back(KeyState{.fingerprint = fp});
  return state;
}

KeyFailure failure(ErrorClass cls, Duration cooldown, bool hint = false) {
  return KeyFailure{.cls = cls,
                    .cooldown = cooldown,
                    .from_provider_hint = hint,
                    .reason = std::string(to_string(cls))};
}

// Selects `count` times, threading the returned state through, and returns the
// chosen indices (-1 for none).
std::vector<int> picks(PoolState& state, SelectionStrategy strategy, TimePoint now, Rng& rng,
                       int count) {
  std::vector<int> out;
  for (int i = 0; i < count; ++i) {
    Selection s = select_key(std::move(state), strategy, now, rng);
    state = std::move(s.next);
    out.push_back(s.index ? static_cast<int>(*s.index) : -1);
  }
  return out;
}

TEST(SelectionStrategy, RoundTripsThroughItsName) {
  for (SelectionStrategy s : {SelectionStrategy::kFillFirst, SelectionStrategy::kRoundRobin,
                              SelectionStrategy::kLeastUsed, SelectionStrategy::kRandom}) {
    EXPECT_EQ(selection_strategy_from_string(to_string(s)), s);
  }
  EXPECT_EQ(to_string(SelectionStrategy::kRoundRobin), "round_robin");
  EXPECT_EQ(selection_strategy_from_string("Least_Used"), SelectionStrategy::kLeastUsed);
  EXPECT_EQ(selection_strategy_from_string("sticky"), std::nullopt);
}

TEST(CredentialPool, FillFirstUsesTheFirstAvailableKeyUntilItCools) {
  testing::FakeClock clock;
  testing::ScriptedRng rng({0.0});
  PoolState state = pool({"a", "b", "c"});
  EXPECT_EQ(picks(state, SelectionStrategy::kFillFirst, clock.now(), rng, 3),
            (std::vector<int>{0, 0, 0}));
  state = record_failure(std::move(state), 0, failure(ErrorClass::kQuotaExhausted, minutes(10)),
                         clock.now(), PoolPolicy{});
  EXPECT_EQ(picks(state, SelectionStrategy::kFillFirst, clock.now(), rng, 2),
            (std::vector<int>{1, 1}));
  EXPECT_EQ(state.keys[0].uses, 3u);
  EXPECT_EQ(state.keys[1].uses, 2u);
}

TEST(CredentialPool, RoundRobinOrderIsCarriedThroughReturnedStates) {
  testing::FakeClock clock;
  testing::ScriptedRng rng({0.0});
  PoolState state = pool({"a", "b", "c"});
  EXPECT_EQ(picks(state, SelectionStrategy::kRoundRobin, clock.now(), rng, 4),
            (std::vector<int>{0, 1, 2, 0}));
  EXPECT_EQ(state.cursor, 1u);
  // A cooling key is skipped and the order continues after the chosen one.
  state = record_failure(std::move(state), 1, failure(ErrorClass::kBilling, minutes(30)),
                         clock.now(), PoolPolicy{});
  EXPECT_EQ(picks(state, SelectionStrategy::kRoundRobin, clock.now(), rng, 3),
            (std::vector<int>{2, 0, 2}));
}

TEST(CredentialPool, RoundRobinCursorBeyondTheKeysWraps) {
  testing::FakeClock clock;
  testing::ScriptedRng rng({0.0});
  PoolState state = pool({"a", "b"});
  state.cursor = 7;  // persisted when the pool had more keys
  EXPECT_EQ(picks(state, SelectionStrategy::kRoundRobin, clock.now(), rng, 2),
            (std::vector<int>{1, 0}));
}

TEST(CredentialPool, LeastUsedPicksFewestUsesWithTiesToTheLowestIndex) {
  testing::FakeClock clock;
  testing::ScriptedRng rng({0.0});
  PoolState state = pool({"a", "b", "c"});
  state.keys[0].uses = 5;
  state.keys[1].uses = 2;
  state.keys[2].uses = 2;
  EXPECT_EQ(picks(state, SelectionStrategy::kLeastUsed, clock.now(), rng, 4),
            (std::vector<int>{1, 2, 1, 2}));
  EXPECT_EQ(state.keys[1].uses, 4u);
  EXPECT_EQ(state.keys[2].uses, 4u);
}

TEST(CredentialPool, RandomDrawsUniformlyAmongAvailableKeys) {
  testing::FakeClock clock;
  testing::ScriptedRng rng({0.0, 0.5, 0.99});
  PoolState state = pool({"a", "b", "c", "d"});
  state.keys[1].disabled = true;  // available: 0, 2, 3
  EXPECT_EQ(picks(state, SelectionStrategy::kRandom, clock.now(), rng, 3),
            (std::vector<int>{0, 2, 3}));
  EXPECT_EQ(rng.draws(), 3u);
}

TEST(CredentialPool, NoAvailableKeyYieldsNoIndexAndNoRandomDraw) {
  testing::FakeClock clock;
  testing::ScriptedRng rng({0.0});
  PoolState state = pool({"a"});
  state = record_failure(std::move(state), 0, failure(ErrorClass::kBilling, minutes(30)),
                         clock.now(), PoolPolicy{});
  for (SelectionStrategy s : {SelectionStrategy::kFillFirst, SelectionStrategy::kRoundRobin,
                              SelectionStrategy::kLeastUsed, SelectionStrategy::kRandom}) {
    Selection sel = select_key(state, s, clock.now(), rng);
    EXPECT_FALSE(sel.index.has_value()) << to_string(s);
    EXPECT_EQ(sel.next.keys[0].uses, 0u);
  }
  EXPECT_EQ(rng.draws(), 0u);
  EXPECT_FALSE(select_key(PoolState{}, SelectionStrategy::kRandom, clock.now(), rng).index);
}

TEST(CredentialPool, RateLimitWithoutHintDoublesPerConsecutiveFailure) {
  testing::FakeClock clock;
  const PoolPolicy policy;
  PoolState state = pool({"a", "b"});
  std::vector<Duration> cooldowns;
  for (int i = 0; i < 6; ++i) {
    state = record_failure(std::move(state), 0, failure(ErrorClass::kRateLimit, seconds(10)),
                           clock.now(), policy);
    cooldowns.push_back(*state.keys[0].cooling_until - clock.now());
    clock.advance(cooldowns.back());  // let it expire before the next failure
  }
  EXPECT_EQ(cooldowns, (std::vector<Duration>{seconds(10), seconds(20), seconds(40), seconds(80),
                                              seconds(160), seconds(300)}));
  EXPECT_EQ(state.keys[0].consecutive_failures, 6);
  EXPECT_EQ(state.keys[0].cooling_class, ErrorClass::kRateLimit);
}

TEST(CredentialPool, SuccessResetsTheRateLimitStreakButNotTheCooldown) {
  testing::FakeClock clock;
  const PoolPolicy policy;
  PoolState state = pool({"a", "b"});
  state = record_failure(std::move(state), 0, failure(ErrorClass::kRateLimit, seconds(10)),
                         clock.now(), policy);
  state = record_failure(std::move(state), 0, failure(ErrorClass::kRateLimit, seconds(10)),
                         clock.now(), policy);
  ASSERT_EQ(state.keys[0].consecutive_failures, 2);
  state = record_success(std::move(state), 0);
  EXPECT_EQ(state.keys[0].consecutive_failures, 0);
  EXPECT_EQ(state.keys[0].cooling_until, clock.now() + seconds(20));
  clock.advance(seconds(20));
  state = record_failure(std::move(state), 0, failure(ErrorClass::kRateLimit, seconds(10)),
                         clock.now(), policy);
  EXPECT_EQ(state.keys[0].cooling_until, clock.now() + seconds(10));
}

TEST(CredentialPool, RateLimitHintIsUsedAsIs) {
  testing::FakeClock clock;
  PoolState state = pool({"a", "b"});
  state.keys[0].consecutive_failures = 3;
  state = record_failure(std::move(state), 0,
                         failure(ErrorClass::kRateLimit, seconds(900), /*hint=*/true), clock.now(),
                         PoolPolicy{});
  EXPECT_EQ(state.keys[0].cooling_until, clock.now() + seconds(900));
  EXPECT_EQ(state.keys[0].consecutive_failures, 4);
}

TEST(CredentialPool, ConcurrencyLimitCoolsForSecondsNeverAnHour) {
  testing::FakeClock clock;
  PoolState state = pool({"a", "b"});
  state = record_failure(std::move(state), 0,
                         failure(ErrorClass::kConcurrencyLimit, std::chrono::hours(1)), clock.now(),
                         PoolPolicy{});
  EXPECT_EQ(state.keys[0].cooling_until, clock.now() + seconds(5));
  state = record_failure(std::move(state), 1, failure(ErrorClass::kConcurrencyLimit, seconds(2)),
                         clock.now(), PoolPolicy{});
  EXPECT_EQ(state.keys[1].cooling_until, clock.now() + seconds(2));
  clock.advance(seconds(5));
  EXPECT_TRUE(is_available(state.keys[0], clock.now()));
  EXPECT_EQ(state.keys[0].consecutive_failures, 0);  // not a rate-limit streak
}

TEST(CredentialPool, LongWindowClassesUseTheGivenCooldown) {
  testing::FakeClock clock;
  PoolState state = pool({"quota", "billing", "auth", "spare"});
  const PoolPolicy policy;
  state = record_failure(std::move(state), 0,
                         failure(ErrorClass::kQuotaExhausted, std::chrono::hours(6)), clock.now(),
                         policy);
  state = record_failure(std::move(state), 1, failure(ErrorClass::kBilling, std::chrono::hours(24)),
                         clock.now(), policy);
  state = record_failure(std::move(state), 2, failure(ErrorClass::kAuth, minutes(5)), clock.now(),
                         policy);
  EXPECT_EQ(state.keys[0].cooling_until, clock.now() + std::chrono::hours(6));
  EXPECT_EQ(state.keys[1].cooling_until, clock.now() + std::chrono::hours(24));
  EXPECT_EQ(state.keys[2].cooling_until, clock.now() + minutes(5));
  clock.advance(minutes(5));
  EXPECT_TRUE(is_available(state.keys[2], clock.now()));
  EXPECT_FALSE(is_available(state.keys[0], clock.now()));
  clock.advance(std::chrono::hours(6));
  EXPECT_TRUE(is_available(state.keys[0], clock.now()));
  EXPECT_FALSE(is_available(state.keys[1], clock.now()));
}

TEST(CredentialPool, FailuresThatAreNotTheKeysFaultDoNotCoolIt) {
  testing::FakeClock clock;
  for (ErrorClass cls :
       {ErrorClass::kOverloaded, ErrorClass::kServerError, ErrorClass::kTimeout,
        ErrorClass::kStreamDrop, ErrorClass::kModelNotFound, ErrorClass::kContextOverflow,
        ErrorClass::kPayloadTooLarge, ErrorClass::kFormatError, ErrorClass::kContentPolicy,
        ErrorClass::kUnknown}) {
    PoolState state = pool({"a"});
    state.keys[0].consecutive_failures = 2;
    state =
        record_failure(std::move(state), 0, failure(cls, minutes(60)), clock.now(), PoolPolicy{});
    EXPECT_FALSE(state.keys[0].cooling_until.has_value()) << to_string(cls);
    EXPECT_FALSE(state.keys[0].cooling_class.has_value()) << to_string(cls);
    EXPECT_EQ(state.keys[0].consecutive_failures, 2) << to_string(cls);
    EXPECT_FALSE(cools_key(cls));
  }
}

TEST(CredentialPool, SoleKeyTransientCooldownIsCapped) {
  testing::FakeClock clock;
  const PoolPolicy policy;
  for (ErrorClass cls : {ErrorClass::kRateLimit, ErrorClass::kAuth}) {
    PoolState state = pool({"only"});
    state.keys[0].consecutive_failures = 5;  // would double to the 300 s ceiling
    state = record_failure(std::move(state), 0, failure(cls, seconds(120)), clock.now(), policy);
    EXPECT_EQ(state.keys[0].cooling_until, clock.now() + seconds(60)) << to_string(cls);
  }
}

TEST(CredentialPool, SoleKeyCapCountsSiblingsAsOneKeyAndIgnoresDisabledKeys) {
  testing::FakeClock clock;
  PoolState state = pool({"a", "a", "dead"});
  state.keys[2].disabled = true;
  state = record_failure(std::move(state), 0, failure(ErrorClass::kAuth, minutes(5)), clock.now(),
                         PoolPolicy{});
  EXPECT_EQ(state.keys[0].cooling_until, clock.now() + seconds(60));
}

TEST(CredentialPool, SoleKeyCapDoesNotApplyToHintsOrLongWindowClasses) {
  testing::FakeClock clock;
  PoolState hinted = pool({"only"});
  hinted = record_failure(std::move(hinted), 0,
                          failure(ErrorClass::kRateLimit, seconds(171), /*hint=*/true), clock.now(),
                          PoolPolicy{});
  EXPECT_EQ(hinted.keys[0].cooling_until, clock.now() + seconds(171));

  PoolState billing = pool({"only"});
  billing =
      record_failure(std::move(billing), 0, failure(ErrorClass::kBilling, std::chrono::hours(1)),
                     clock.now(), PoolPolicy{});
  EXPECT_EQ(billing.keys[0].cooling_until, clock.now() + std::chrono::hours(1));

  PoolState two = pool({"a", "b"});
  two = record_failure(std::move(two), 0, failure(ErrorClass::kAuth, minutes(5)), clock.now(),
                       PoolPolicy{});
  EXPECT_EQ(two.keys[0].cooling_until, clock.now() + minutes(5));
}

TEST(CredentialPool, NeverShortensALongerCooldown) {
  testing::FakeClock clock;
  PoolState state = pool({"a", "b"});
  state = record_failure(std::move(state), 0,
                         failure(ErrorClass::kQuotaExhausted, std::chrono::hours(3)), clock.now(),
                         PoolPolicy{});
  clock.advance(minutes(1));
  state = record_failure(std::move(state), 0, failure(ErrorClass::kRateLimit, seconds(10)),
                         clock.now(), PoolPolicy{});
  EXPECT_EQ(state.keys[0].cooling_until, clock.now() - minutes(1) + std::chrono::hours(3));
  EXPECT_EQ(state.keys[0].cooling_class, ErrorClass::kQuotaExhausted);
  // A longer one replaces it, with its class and reason.
  state = record_failure(std::move(state), 0, failure(ErrorClass::kBilling, std::chrono::hours(24)),
                         clock.now(), PoolPolicy{});
  EXPECT_EQ(state.keys[0].cooling_until, clock.now() + std::chrono::hours(24));
  EXPECT_EQ(state.keys[0].cooling_class, ErrorClass::kBilling);
  EXPECT_EQ(state.keys[0].cooling_reason, "BILLING");
}

TEST(CredentialPool, SiblingsShareFate) {
  testing::FakeClock clock;
  testing::ScriptedRng rng({0.0});
  // "k1" backs an explicit entry and an auto-seeded one.
  PoolState state = pool({"k1", "k2", "k1"});
  state = record_failure(std::move(state), 2, failure(ErrorClass::kRateLimit, seconds(30)),
                         clock.now(), PoolPolicy{});
  EXPECT_EQ(state.keys[0].cooling_until, clock.now() + seconds(30));
  EXPECT_EQ(state.keys[2].cooling_until, clock.now() + seconds(30));
  EXPECT_EQ(state.keys[0].consecutive_failures, 1);
  EXPECT_EQ(state.keys[0].cooling_reason, "RATE_LIMIT");
  EXPECT_FALSE(state.keys[1].cooling_until.has_value());
  // Rotation converges on the healthy key instead of handing out the sibling.
  EXPECT_EQ(picks(state, SelectionStrategy::kRoundRobin, clock.now(), rng, 3),
            (std::vector<int>{1, 1, 1}));

  state = record_success(std::move(state), 0);
  EXPECT_EQ(state.keys[2].consecutive_failures, 0);

  KeyFailure banned = failure(ErrorClass::kAuthPermanent, Duration::zero());
  banned.disable = true;
  state = record_failure(std::move(state), 0, banned, clock.now(), PoolPolicy{});
  EXPECT_TRUE(state.keys[0].disabled);
  EXPECT_TRUE(state.keys[2].disabled);
  EXPECT_FALSE(state.keys[1].disabled);
}

TEST(CredentialPool, DisabledKeyNeverReturns) {
  testing::FakeClock clock;
  testing::ScriptedRng rng({0.0, 0.9});
  PoolState state = pool({"bad", "good"});
  KeyFailure banned = failure(ErrorClass::kAuthPermanent, Duration::zero());
  banned.disable = true;
  banned.reason = "account suspended";
  state = record_failure(std::move(state), 0, banned, clock.now(), PoolPolicy{});
  EXPECT_TRUE(state.keys[0].disabled);
  EXPECT_EQ(state.keys[0].cooling_class, ErrorClass::kAuthPermanent);
  EXPECT_EQ(state.keys[0].cooling_reason, "account suspended");
  clock.advance(std::chrono::hours(24 * 365));
  state = expire_cooldowns(std::move(state), clock.now());
  EXPECT_EQ(state.keys[0].cooling_reason, "account suspended");
  for (SelectionStrategy s : {SelectionStrategy::kFillFirst, SelectionStrategy::kRoundRobin,
                              SelectionStrategy::kLeastUsed, SelectionStrategy::kRandom}) {
    EXPECT_EQ(picks(state, s, clock.now(), rng, 3), (std::vector<int>{1, 1, 1})) << to_string(s);
  }
}

TEST(CredentialPool, AuthPermanentDisablesEvenWithoutTheFlag) {
  testing::FakeClock clock;
  PoolState state = pool({"a", "b"});
  state = record_failure(std::move(state), 1, failure(ErrorClass::kAuthPermanent, seconds(1)),
                         clock.now(), PoolPolicy{});
  EXPECT_TRUE(state.keys[1].disabled);
  EXPECT_FALSE(is_available(state.keys[1], clock.now() + std::chrono::hours(1000)));
}

TEST(CredentialPool, UnknownIndexMarksNothing) {
  testing::FakeClock clock;
  PoolState state = pool({"a"});
  state = record_failure(std::move(state), 3, failure(ErrorClass::kBilling, minutes(60)),
                         clock.now(), PoolPolicy{});
  EXPECT_TRUE(is_available(state.keys[0], clock.now()));
  state = record_success(std::move(state), 9);
  EXPECT_EQ(state.keys.size(), 1u);
}

TEST(CredentialPool, NextAvailableAtReportsNowTheEarliestCooldownOrNever) {
  testing::FakeClock clock;
  PoolState state = pool({"a", "b", "c"});
  EXPECT_EQ(next_available_at(state, clock.now()), clock.now());

  state = record_failure(std::move(state), 0, failure(ErrorClass::kBilling, minutes(30)),
                         clock.now(), PoolPolicy{});
  state = record_failure(std::move(state), 1, failure(ErrorClass::kAuth, minutes(5)), clock.now(),
                         PoolPolicy{});
  EXPECT_EQ(next_available_at(state, clock.now()), clock.now());  // c is free

  state.keys[2].disabled = true;
  EXPECT_EQ(next_available_at(state, clock.now()), clock.now() + minutes(5));
  clock.advance(minutes(5));
  EXPECT_EQ(next_available_at(state, clock.now()), clock.now());

  for (KeyState& key : state.keys) key.disabled = true;
  EXPECT_EQ(next_available_at(state, clock.now()), std::nullopt);
  EXPECT_EQ(next_available_at(PoolState{}, clock.now()), std::nullopt);
}

TEST(CredentialPool, ExpiredCooldownsAreClearedForStatusPages) {
  testing::FakeClock clock;
  testing::ScriptedRng rng({0.0});
  PoolState state = pool({"a", "b"});
  state = record_failure(std::move(state), 0, failure(ErrorClass::kAuth, minutes(5)), clock.now(),
                         PoolPolicy{});
  state = record_failure(std::move(state), 1, failure(ErrorClass::kAuth, minutes(10)), clock.now(),
                         PoolPolicy{});
  clock.advance(minutes(5));
  PoolState expired = expire_cooldowns(state, clock.now());
  EXPECT_FALSE(expired.keys[0].cooling_until.has_value());
  EXPECT_FALSE(expired.keys[0].cooling_class.has_value());
  EXPECT_TRUE(expired.keys[0].cooling_reason.empty());
  EXPECT_TRUE(expired.keys[1].cooling_until.has_value());
  // Selection clears them too, in the state it returns.
  Selection sel = select_key(state, SelectionStrategy::kFillFirst, clock.now(), rng);
  EXPECT_EQ(sel.index, 0u);
  EXPECT_FALSE(sel.next.keys[0].cooling_until.has_value());
}

}  // namespace
}  // namespace sluice::policy
