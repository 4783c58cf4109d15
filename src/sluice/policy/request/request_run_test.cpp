#include "sluice/policy/request/request_run.hpp"

#include <gtest/gtest.h>

#include <deque>

#include "sluice/policy/errors/traits.hpp"
#include "testing/fake_clock.hpp"

namespace sluice::policy {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

// The run driven by hand: each test plays the driver, event by event, and
// checks the action that comes back.
class RequestRunTest : public ::testing::Test {
 protected:
  RunSetup setup(std::vector<std::string> labels) {
    RunSetup s;
    s.alias = "coder";
    s.labels = std::move(labels);
    s.queue_timeout = seconds(10);
    return s;
  }
  RequestRun& start(RunSetup s) {
    run.emplace(std::move(s), retry, budget, rng);
    budget.record_request(clock.now());
    return *run;
  }
  Action next(const Event& e) { return run->next(e, clock.now()); }
  // No budget seen yet for the key: always send.
  ThrottleInput no_budget() const {
    ThrottleInput in;
    in.now = clock.now();
    return in;
  }
  // The key's requests budget: `remaining` left, full again after `reset`.
  ThrottleInput budget_of(std::int64_t remaining, Duration reset) {
    RateLimitSnapshot& snap = snapshots.emplace_back();
    snap.taken_at = clock.now();
    RateLimitBucket& b = snap.find_or_add("requests", BudgetAxis::kRequests);
    b.limit = 100;
    b.remaining = remaining;
    b.reset_after = reset;
    ThrottleInput in;
    in.snapshot = &snap;
    in.now = clock.now();
    return in;
  }
  static Answered ok() {
    Answered a;
    a.classification.ok = true;
    return a;
  }
  static Answered failure(ErrorClass cls, std::optional<Duration> wait = std::nullopt,
                          std::string message = {}, bool another_key_free = false) {
    Answered a;
    a.classification.cls = cls;
    a.classification.traits = traits_of(cls);
    a.classification.wait = wait;
    a.classification.message = std::move(message);
    a.another_key_free = another_key_free;
    return a;
  }
  // From a Prepare{index} just returned: up to the Send.
  void through_send() {
    ASSERT_TRUE(std::holds_alternative<TakeKey>(next(Prepared{seconds(30)})));
    ASSERT_TRUE(std::holds_alternative<Acquire>(next(KeyTaken{no_budget()})));
    ASSERT_TRUE(std::holds_alternative<Send>(next(Acquired{no_budget()})));
  }

  testing::FakeClock clock;
  RetryConfig retry;
  RetryBudget budget;
  SeededRng rng{7};
  std::optional<RequestRun> run;
  std::deque<RateLimitSnapshot> snapshots;
};

TEST_F(RequestRunTest, ServesOnThePrimaryAndEndsOnce) {
  start(setup({"zai/glm-5.1", "kimi/k2"}));
  ASSERT_EQ(std::get<Prepare>(next(Start{})).index, 0u);
  ASSERT_EQ(std::get<TakeKey>(next(Prepared{seconds(30)})).index, 0u);
  const auto acquire = std::get<Acquire>(next(KeyTaken{no_budget()}));
  EXPECT_EQ(acquire.timeout, seconds(10));
  clock.advance(milliseconds(40));  // queued for a slot
  ASSERT_TRUE(std::holds_alternative<Send>(next(Acquired{no_budget()})));
  clock.advance(milliseconds(700));  // the provider's time
  const auto relay = std::get<Relay>(next(ok()));
  EXPECT_EQ(relay.index, 0u);
  EXPECT_FALSE(relay.by_fallback);
  const auto finish = std::get<Finish>(next(Relayed{Ending::kOk, "stream", false}));
  EXPECT_EQ(finish.ending, Ending::kOk);
  EXPECT_EQ(finish.route, "zai/glm-5.1");
  EXPECT_EQ(finish.detail, "stream");
  EXPECT_FALSE(finish.reply);
  EXPECT_EQ(run->attempts(), 1);
  EXPECT_EQ(run->queued(), milliseconds(40));
  EXPECT_EQ(run->waited(), milliseconds(700));
  EXPECT_EQ(run->take_counts().fallbacks, 0);
}

TEST_F(RequestRunTest, ACoolingPrimaryIsSkippedWithoutACallAndTheFallbackSaysSo) {
  // At start-up: the previous run benched the primary's only key for an hour.
  start(setup({"zai/glm-5.1", "kimi/k2"}));
  next(Start{});
  next(Prepared{seconds(30)});
  ASSERT_EQ(std::get<Prepare>(next(NoKey{clock.now() + hours(1)})).index, 1u);
  EXPECT_EQ(run->take_counts().fallbacks, 1);
  through_send();
  const auto relay = std::get<Relay>(next(ok()));
  EXPECT_EQ(relay.index, 1u);
  EXPECT_TRUE(relay.by_fallback);
  EXPECT_EQ(run->skipped(), std::vector<std::string>{"zai/glm-5.1: every key is cooling"});
  EXPECT_EQ(run->attempts(), 1);
}

TEST_F(RequestRunTest, ACoolingPrimaryIsNotWaitedForWhileAFallbackMayServe) {
  start(setup({"zai/glm-5.1", "kimi/k2"}));
  next(Start{});
  next(Prepared{seconds(30)});
  // Free again in 2 s, well within max_wait: the fallback still goes first.
  EXPECT_EQ(std::get<Prepare>(next(NoKey{clock.now() + seconds(2)})).index, 1u);
}

TEST_F(RequestRunTest, WhenNothingElseCanServeTheCooldownThatEndsFirstIsWaitedFor) {
  start(setup({"zai/glm-5.1", "kimi/k2"}));
  next(Start{});
  next(Prepared{seconds(30)});
  next(NoKey{clock.now() + seconds(3)});
  next(Prepared{seconds(30)});
  // The last candidate cools for 10 s, the primary for 3: back to the primary.
  const auto wait = std::get<Wait>(next(NoKey{clock.now() + seconds(10)}));
  EXPECT_EQ(wait.until, clock.now() + seconds(3));
  EXPECT_EQ(run->take_counts().throttle_waits, 1);
  clock.advance(seconds(3));
  EXPECT_EQ(std::get<Prepare>(next(Woke{})).index, 0u);
  through_send();
  const auto relay = std::get<Relay>(next(ok()));
  EXPECT_EQ(relay.index, 0u);
  EXPECT_EQ(run->waited(), seconds(3));
}

TEST_F(RequestRunTest, EveryKeyCoolingBeyondMaxWaitIsRefusedWithTheEarliestRetryAfter) {
  start(setup({"zai/glm-5.1", "kimi/k2"}));
  next(Start{});
  next(Prepared{seconds(30)});
  next(NoKey{clock.now() + seconds(90)});
  next(Prepared{seconds(30)});
  const auto finish = std::get<Finish>(next(NoKey{clock.now() + seconds(45)}));
  EXPECT_EQ(finish.ending, Ending::kRefused);
  EXPECT_EQ(finish.route, "-");
  ASSERT_TRUE(finish.reply);
  EXPECT_EQ(finish.reply->status, 429);
  EXPECT_EQ(finish.reply->code, "sluice_capacity");
  EXPECT_EQ(finish.reply->retry_after, seconds(45));
  EXPECT_TRUE(finish.reply->should_retry);
  EXPECT_EQ(finish.reply->message,
            "no route candidate for \"coder\" can take a request now (zai/glm-5.1: every key is "
            "cooling; kimi/k2: every key is cooling)");
  EXPECT_EQ(finish.detail, "zai/glm-5.1: every key is cooling; kimi/k2: every key is cooling");
  EXPECT_EQ(run->attempts(), 0);
}

TEST_F(RequestRunTest, ASpentBudgetIsWaitedForUntilItsResetAndBackgroundWakesLater) {
  RunSetup s = setup({"openai/gpt-5"});
  s.wake_delay = milliseconds(20);
  start(std::move(s));
  next(Start{});
  next(Prepared{seconds(30)});
  const auto wait = std::get<Wait>(next(KeyTaken{budget_of(0, seconds(4))}));
  EXPECT_EQ(wait.until, clock.now() + seconds(4) + milliseconds(20));
  EXPECT_EQ(run->take_counts().throttle_waits, 1);
  clock.advance(seconds(4) + milliseconds(20));
  EXPECT_EQ(std::get<Prepare>(next(Woke{})).index, 0u);
  // The same candidate's wait counts toward its max_wait: 26 s are left.
  next(Prepared{seconds(30)});
  const Action again = next(KeyTaken{budget_of(0, seconds(27))});
  EXPECT_TRUE(std::holds_alternative<Finish>(again));
  EXPECT_EQ(std::get<Finish>(again).reply->retry_after, seconds(27));
}

TEST_F(RequestRunTest, ABudgetSpentBeyondMaxWaitIsRoutedAround) {
  start(setup({"openai/gpt-5", "anthropic/claude"}));
  next(Start{});
  next(Prepared{seconds(5)});
  EXPECT_EQ(std::get<Prepare>(next(KeyTaken{budget_of(0, seconds(40))})).index, 1u);
  const RunCounts counts = run->take_counts();
  EXPECT_EQ(counts.throttle_waits, 1);
  EXPECT_EQ(counts.fallbacks, 1);
  EXPECT_EQ(run->skipped(),
            std::vector<std::string>{"openai/gpt-5: budget requests is spent until its reset"});
}

TEST_F(RequestRunTest, NoSlotWithinTheQueueTimeoutMovesOnAndComesBackInASecond) {
  start(setup({"kimi/k2"}));
  next(Start{});
  next(Prepared{seconds(30)});
  next(KeyTaken{no_budget()});
  clock.advance(seconds(10));
  const auto finish = std::get<Finish>(next(NotAcquired{}));
  EXPECT_EQ(finish.reply->status, 429);
  EXPECT_EQ(finish.reply->retry_after, seconds(1));
  EXPECT_EQ(run->queued(), seconds(10));
}

TEST_F(RequestRunTest, TheQueueTimeoutStopsAtTheDeadline) {
  RunSetup s = setup({"kimi/k2"});
  s.deadline = clock.now() + seconds(3);
  start(std::move(s));
  next(Start{});
  next(Prepared{seconds(30)});
  EXPECT_EQ(std::get<Acquire>(next(KeyTaken{no_budget()})).timeout, seconds(3));
}

TEST_F(RequestRunTest, ABudgetSpentWhileQueuedSendsTheRequestBackToLookAgain) {
  start(setup({"openai/gpt-5"}));
  next(Start{});
  next(Prepared{seconds(30)});
  next(KeyTaken{budget_of(50, seconds(30))});
  clock.advance(milliseconds(200));  // others' replies spent it meanwhile
  EXPECT_EQ(std::get<Prepare>(next(Acquired{budget_of(0, seconds(2))})).index, 0u);
}

TEST_F(RequestRunTest, ARetryableFailureWaitsForTheProvidersHintThenTriesAgain) {
  start(setup({"openai/gpt-5"}));
  next(Start{});
  through_send();
  const auto wait = std::get<Wait>(next(failure(ErrorClass::kOverloaded, seconds(2))));
  EXPECT_EQ(wait.until, clock.now() + seconds(2));
  EXPECT_EQ(run->take_counts().retries, 1);
  clock.advance(seconds(2));
  EXPECT_EQ(std::get<Prepare>(next(Woke{})).index, 0u);
  through_send();
  EXPECT_TRUE(std::holds_alternative<Relay>(next(ok())));
  EXPECT_EQ(run->attempts(), 2);
  EXPECT_EQ(run->failures(), std::vector<std::string>{"openai/gpt-5:OVERLOADED"});
}

TEST_F(RequestRunTest, ARateLimitedKeyRotatesToAnotherAtOnce) {
  retry.max_attempts_per_candidate = 3;
  start(setup({"openai/gpt-5"}));
  next(Start{});
  through_send();
  const Action a = next(failure(ErrorClass::kRateLimit, seconds(20), "", true));
  EXPECT_EQ(std::get<Prepare>(a).index, 0u);  // no wait: the pool's next key
  // Without another key the 20 s hint is waited for instead.
  through_send();
  EXPECT_TRUE(std::holds_alternative<Wait>(next(failure(ErrorClass::kRateLimit, seconds(20)))));
}

TEST_F(RequestRunTest, AConcurrencyErrorQueuesAgainWithoutSpendingTheCandidatesAttempts) {
  start(setup({"zai/glm-5.1"}));
  next(Start{});
  through_send();
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(std::get<Prepare>(next(failure(ErrorClass::kConcurrencyLimit))).index, 0u) << i;
    through_send();
  }
  EXPECT_EQ(run->take_counts().retries, 4);
  // The fifth is the retry policy's to decide: attempts are capped.
  const Action a = next(failure(ErrorClass::kConcurrencyLimit));
  ASSERT_TRUE(std::holds_alternative<Finish>(a)) << a.index();
  EXPECT_EQ(std::get<Finish>(a).ending, Ending::kUpstreamError);
  EXPECT_EQ(run->attempts(), 5);
}

TEST_F(RequestRunTest, AMissingModelFallsBackAndTheLastFailureIsTheAnswer) {
  start(setup({"zai/glm-5.1", "kimi/k2"}));
  next(Start{});
  through_send();
  EXPECT_EQ(std::get<Prepare>(next(failure(ErrorClass::kModelNotFound))).index, 1u);
  through_send();
  const auto finish = std::get<Finish>(
      next(failure(ErrorClass::kContextOverflow, std::nullopt, "prompt is too long")));
  EXPECT_EQ(finish.ending, Ending::kUpstreamError);
  EXPECT_EQ(finish.cls, ErrorClass::kContextOverflow);
  EXPECT_EQ(finish.route, "kimi/k2");
  ASSERT_TRUE(finish.reply);
  EXPECT_EQ(finish.reply->status, traits_of(ErrorClass::kContextOverflow).client_status);
  EXPECT_EQ(finish.reply->code, "context_overflow");
  EXPECT_EQ(finish.reply->message,
            "upstream kimi/k2 failed: CONTEXT_OVERFLOW: prompt is too long (zai/glm-5.1: "
            "MODEL_NOT_FOUND)");
  EXPECT_FALSE(finish.reply->should_retry);
  EXPECT_EQ(run->failures(),
            (std::vector<std::string>{"zai/glm-5.1:MODEL_NOT_FOUND", "kimi/k2:CONTEXT_OVERFLOW"}));
}

TEST_F(RequestRunTest, AnAuthErrorsOwnWordsNeverReachTheAnswer) {
  start(setup({"openai/gpt-5"}));
  next(Start{});
  through_send();
  const auto finish =
      std::get<Finish>(next(failure(ErrorClass::kAuth, std::nullopt, "Incorrect key sk-abc123")));
  ASSERT_TRUE(finish.reply);
  EXPECT_EQ(finish.reply->message, "upstream openai/gpt-5 failed: AUTH");
}

TEST_F(RequestRunTest, APassedDeadlineEndsTheRequestBeforeAnotherKeyIsTaken) {
  RunSetup s = setup({"openai/gpt-5"});
  s.deadline = clock.now() + seconds(1);
  start(std::move(s));
  next(Start{});
  clock.advance(seconds(1));
  const auto finish = std::get<Finish>(next(Prepared{seconds(30)}));
  EXPECT_EQ(finish.ending, Ending::kRefused);
  EXPECT_EQ(run->attempts(), 0);
}

TEST_F(RequestRunTest, ARequestNoCandidateCanCarryIsTheCallersToFix) {
  start(setup({"anthropic/claude"}));
  next(Start{});
  const auto finish = std::get<Finish>(
      next(Unusable{"cannot translate: x", Refusal{"untranslatable_request", "x", false}}));
  EXPECT_EQ(finish.ending, Ending::kRefused);
  EXPECT_EQ(finish.reply->status, 400);
  EXPECT_EQ(finish.reply->code, "untranslatable_request");
  EXPECT_FALSE(finish.reply->should_retry);
  EXPECT_FALSE(finish.reply->retry_after);
}

TEST_F(RequestRunTest, AStoreThatCannotBeReadIsSluicesTroubleNotTheCallers) {
  start(setup({"anthropic/claude"}));
  next(Start{});
  const auto finish = std::get<Finish>(
      next(Unusable{"unknown previous_response_id", Refusal{"state_unavailable", "y", true}}));
  EXPECT_EQ(finish.reply->status, 503);
  EXPECT_TRUE(finish.reply->should_retry);
  EXPECT_EQ(finish.reply->retry_after, seconds(1));
}

TEST_F(RequestRunTest, AnUnknownProviderIsPassedOverLikeAnyUnusableCandidate) {
  start(setup({"gone/m", "openai/gpt-5"}));
  next(Start{});
  EXPECT_EQ(std::get<Prepare>(next(Unusable{"unknown provider", std::nullopt})).index, 1u);
}

TEST_F(RequestRunTest, AClientThatLeftEndsTheRequestAsItsOwnDoing) {
  start(setup({"openai/gpt-5"}));
  next(Start{});
  through_send();
  next(ok());
  const auto finish =
      std::get<Finish>(next(Relayed{Ending::kClientGone, "the client left mid-stream", false}));
  EXPECT_EQ(finish.ending, Ending::kClientGone);
  EXPECT_EQ(finish.route, "openai/gpt-5");
  EXPECT_FALSE(finish.reply);  // nobody to answer
}

TEST_F(RequestRunTest, AnAnswerCutShortBeforeAnythingWasSentIsAnsweredWithAnError) {
  start(setup({"anthropic/claude"}));
  next(Start{});
  through_send();
  next(ok());
  const auto finish = std::get<Finish>(next(Relayed{Ending::kStreamDrop, "cut", true}));
  EXPECT_EQ(finish.ending, Ending::kStreamDrop);
  ASSERT_TRUE(finish.reply);
  EXPECT_EQ(finish.reply->status, 502);
  EXPECT_EQ(finish.reply->code, "stream_drop");
  EXPECT_EQ(finish.reply->message, "upstream anthropic/claude cut its answer short");
}

TEST_F(RequestRunTest, RedisModeAsksAcrossInstancesAfterTheLocalSlot) {
  RunSetup s = setup({"zai/glm-5.1", "kimi/k2"});
  s.shared = true;
  start(std::move(s));
  next(Start{});
  next(Prepared{seconds(30)});
  next(KeyTaken{no_budget()});
  clock.advance(milliseconds(5));
  const auto share = std::get<Share>(next(Acquired{no_budget()}));
  EXPECT_EQ(share.give_up, clock.now() - milliseconds(5) + seconds(10));  // the same queue timeout
  clock.advance(milliseconds(30));
  // Busy everywhere: the next candidate.
  EXPECT_EQ(std::get<Prepare>(next(Shared{Shared::Kind::kBusy, {}})).index, 1u);
  EXPECT_EQ(run->queued(), milliseconds(35));
  next(Prepared{seconds(30)});
  next(KeyTaken{no_budget()});
  next(Acquired{no_budget()});
  // Redis away: local limits decide, and the request goes.
  EXPECT_TRUE(std::holds_alternative<Send>(next(Shared{Shared::Kind::kLocal, {}})));
}

TEST_F(RequestRunTest, TheBudgetAllInstancesShareCanHoldTheRequestBack) {
  RunSetup s = setup({"openai/gpt-5"});
  s.shared = true;
  s.wake_delay = milliseconds(20);
  start(std::move(s));
  next(Start{});
  next(Prepared{seconds(30)});
  next(KeyTaken{budget_of(50, seconds(30))});
  next(Acquired{no_budget()});
  const auto wait = std::get<Wait>(next(Shared{Shared::Kind::kGranted, budget_of(0, seconds(3))}));
  EXPECT_EQ(wait.until, clock.now() + seconds(3));  // no background delay here
  // Spent beyond max_wait across instances: refused, with its reset.
  clock.advance(seconds(3));
  next(Woke{});
  next(Prepared{seconds(30)});
  next(KeyTaken{no_budget()});
  next(Acquired{no_budget()});
  const auto finish =
      std::get<Finish>(next(Shared{Shared::Kind::kGranted, budget_of(0, seconds(50))}));
  EXPECT_EQ(finish.reply->retry_after, seconds(50));
  EXPECT_EQ(finish.detail, "openai/gpt-5: shared budget requests is spent until its reset");
}

}  // namespace
}  // namespace sluice::policy
