// Property: the parsers never crash or throw, whatever the bytes. Random
// inputs plus mutations of real provider bodies; seeded, so a failure
// reproduces. (libFuzzer targets in fuzz/ explore further in CI.)
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "sluice/policy/errors/classifier.hpp"
#include "sluice/policy/errors/error_body.hpp"
#include "sluice/policy/ratelimit/header_parser.hpp"
#include "sluice/policy/ratelimit/reset_value.hpp"

namespace sluice::policy {
namespace {

std::vector<std::string> seed_bodies() {
  std::vector<std::string> seeds = {
      R"({"error":{"message":"Rate limit","code":"1302"}})",
      R"([{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","details":[{"@type":"x.RetryInfo","retryDelay":"2s"}]}}])",
      R"({"error":{"message":"Provider returned error","metadata":{"raw":"{\"error\":{\"message\":\"x\"}}","headers":{"X-RateLimit-Reset":"1788825600000"}}}})",
      "data: {\"error\":{\"message\":\"boom\"}}\n\ndata: [DONE]\n\n",
      "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"}}\n\n",
      "<html><title>502 Bad Gateway</title></html>",
  };
  std::ifstream f(std::string(SLUICE_SOURCE_DIR) +
                  "/src/sluice/policy/errors/testdata/classifier_cases.jsonl");
  std::string line;
  while (std::getline(f, line)) seeds.push_back(line);  // whole lines are fine JSON noise too
  return seeds;
}

std::string mutate(std::string s, std::mt19937_64& rng) {
  std::uniform_int_distribution<int> op(0, 3);
  std::uniform_int_distribution<int> byte(0, 255);
  const int edits = 1 + static_cast<int>(rng() % 8);
  for (int i = 0; i < edits && !s.empty(); ++i) {
    const std::size_t pos = rng() % s.size();
    switch (op(rng)) {
      case 0: s[pos] = static_cast<char>(byte(rng)); break;
      case 1: s.erase(pos, 1 + rng() % 16); break;
      case 2: s.insert(pos, s.substr(rng() % s.size(), rng() % 32)); break;
      case 3: s.resize(pos); break;
    }
  }
  return s;
}

std::string random_bytes(std::mt19937_64& rng, std::size_t max_len) {
  std::string s(rng() % max_len, '\0');
  for (char& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

TEST(ParserProperty, ClassifierNeverThrowsOnRandomOrMutatedBodies) {
  std::mt19937_64 rng(20261123);
  const auto seeds = seed_bodies();
  const TimePoint now = from_unix_ms(1'788'825'600'000);
  for (int i = 0; i < 20000; ++i) {
    std::string body =
        (i % 3 == 0) ? random_bytes(rng, 512) : mutate(seeds[rng() % seeds.size()], rng);
    UpstreamOutcome in;
    in.dialect = static_cast<Dialect>(rng() % 19);
    if (rng() % 4 != 0) in.status = 100 + static_cast<int>(rng() % 500);
    in.transport = static_cast<TransportFailure>(rng() % 6);
    in.body = body;
    in.now = now;
    Classification c;
    ASSERT_NO_THROW(c = classify(in)) << "iteration " << i;
    // A classification is always one of the closed classes or a success.
    EXPECT_TRUE(c.ok || static_cast<std::size_t>(c.cls) < kErrorClassCount);
  }
}

TEST(ParserProperty, HeaderParsersNeverThrowOnRandomValues) {
  std::mt19937_64 rng(7);
  const char* names[] = {"retry-after",
                         "retry-after-ms",
                         "date",
                         "x-ratelimit-reset-requests",
                         "x-ratelimit-remaining-tokens",
                         "anthropic-ratelimit-tokens-reset",
                         "X-RateLimit-Reset",
                         "anthropic-ratelimit-unified-7d-reset",
                         "x-ratelimit-limit-requests-1h",
                         "ratelimitbysize-reset",
                         "RateLimit",
                         "RateLimit-Policy",
                         "RateLimit-Reset",
                         "RateLimit-Limit"};
  constexpr std::size_t kNames = sizeof names / sizeof names[0];
  const TimePoint now = from_unix_ms(1'788'825'600'000);
  for (int i = 0; i < 20000; ++i) {
    HeaderList h;
    const int n = static_cast<int>(rng() % 6);
    for (int k = 0; k < n; ++k) h.add(names[rng() % kNames], random_bytes(rng, 40));
    HeaderParseResult r;
    ASSERT_NO_THROW(r = parse_rate_limit_headers(h.view(), static_cast<Dialect>(rng() % 19), now));
    for (const auto& b : r.snapshot.buckets) {
      if (b.reset_after) {
        EXPECT_GE(b.reset_after->count(), 0);  // never a negative wait
      }
    }
    const std::string v = random_bytes(rng, 24);
    ASSERT_NO_THROW(parse_reset_value(v, now));
    ASSERT_NO_THROW(parse_go_duration(v));
    ASSERT_NO_THROW(parse_http_date(v));
  }
}

TEST(ParserProperty, StructuredRateLimitFieldsNeverThrowOnMutations) {
  std::mt19937_64 rng(8941);
  const std::string policies[] = {
      R"("default";q=100;w=60)",
      R"("burst";q=100;w=60, "daily";q=1000;qu="request";w=86400;pk=:cHJvamVjdC0x:)",
      R"(10, 10;w=1, 1000;w=3600)",
      R"(limit=100, remaining=50, reset=30)",
      R"("a\"b";r=0;t=12, tpm;r=1200;t=7)",
  };
  const char* names[] = {"RateLimit", "RateLimit-Policy", "RateLimit-Limit", "RateLimit-Reset"};
  const TimePoint now = from_unix_ms(1'788'825'600'000);
  for (int i = 0; i < 20000; ++i) {
    HeaderList h;
    const int n = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < n; ++k) {
      h.add(names[rng() % 4], mutate(policies[rng() % 5], rng));
    }
    HeaderParseResult r;
    ASSERT_NO_THROW(r = parse_rate_limit_headers(h.view(), Dialect::kGeneric, now));
    for (const auto& b : r.snapshot.buckets) {
      EXPECT_GE(b.reset_after.value_or(Duration::zero()).count(), 0);
      EXPECT_GT(b.window.value_or(Duration(1)).count(), 0);
      EXPECT_GE(b.limit.value_or(0), 0);
      EXPECT_GE(b.remaining.value_or(0), 0);
    }
  }
}

TEST(ParserProperty, AbsurdNumbersAreRejectedOrSaturatedNeverOverflowed) {
  const TimePoint now = from_unix_ms(1'788'825'600'000);
  EXPECT_FALSE(parse_reset_value("99999999999999999999999", now));
  EXPECT_FALSE(parse_reset_value("1e300", now));
  auto g = parse_go_duration("9999999999999999h");
  ASSERT_TRUE(g);
  EXPECT_EQ(*g, kMaxDuration);
  auto r = parse_retry_after("1e300", now);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, kMaxDuration);
}

}  // namespace
}  // namespace sluice::policy
