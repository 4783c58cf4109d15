#include "sluice/config/secret.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <set>
#include <string>
#include <type_traits>

namespace sluice::config {
namespace {

template <typename T>
concept Streamable = requires(std::ostream& os, const T& value) {
  os << value;
};

// The point of the type: none of the usual ways to print or stringify a value
// compiles for a Secret.
static_assert(!Streamable<Secret>);
static_assert(!std::is_convertible_v<Secret, std::string>);
static_assert(!std::is_convertible_v<Secret, std::string_view>);
static_assert(!std::is_convertible_v<Secret, const char*>);
static_assert(!std::is_constructible_v<std::string, Secret>);
static_assert(!std::is_convertible_v<std::string, Secret>);  // explicit construction only

TEST(Secret, RevealGivesTheKeyBack) {
  const Secret secret("sk-test-123");
  EXPECT_EQ(secret.reveal(), "sk-test-123");
}

TEST(Secret, FingerprintIsKeyColonEightHexDigits) {
  const Secret secret("sk-proj-abcdefghijklmnopqrstuvwxyz0123456789");
  const std::string& fp = secret.fingerprint();
  ASSERT_EQ(fp.size(), 12u);
  EXPECT_EQ(fp.substr(0, 4), "key:");
  for (char c : fp.substr(4)) {
    EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << fp;
  }
}

TEST(Secret, FingerprintIsStableAcrossInstancesAndMatchesFingerprintOf) {
  const std::string key = "sk-ant-api03-0123456789";
  EXPECT_EQ(Secret(key).fingerprint(), Secret(key).fingerprint());
  EXPECT_EQ(Secret(key).fingerprint(), fingerprint_of(key));
  // Pinned: the fingerprint is persisted by the state store, so it must not
  // change between releases. FNV-1a 64 of "" is cbf29ce484222325,
  // folded to 32 bits:
  EXPECT_EQ(fingerprint_of(""), "key:4fd0bfc1");  // 0xcbf29ce4 ^ 0x84222325
  EXPECT_EQ(fingerprint_of("sk-test"), "key:5ba694f5");
}

TEST(Secret, FingerprintsOfDifferentKeysDiffer) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    seen.insert(fingerprint_of("sk-test-key-" + std::to_string(i)));
  }
  EXPECT_EQ(seen.size(), 1000u);
  // Keys differing in one character only, at either end.
  EXPECT_NE(fingerprint_of("sk-aaaa"), fingerprint_of("sk-aaab"));
  EXPECT_NE(fingerprint_of("Xk-aaaa"), fingerprint_of("sk-aaaa"));
}

TEST(Secret, FingerprintHoldsNoPartOfTheKey) {
  const std::string key = "sk-zai-SECRETVALUE-0001";
  const std::string fp = fingerprint_of(key);
  EXPECT_EQ(fp.find("SECRET"), std::string::npos);
  EXPECT_EQ(fp.find("0001"), std::string::npos);
  EXPECT_EQ(fp.find("sk-"), std::string::npos);
}

TEST(Secret, EqualityComparesTheValue) {
  EXPECT_TRUE(Secret("a1") == Secret("a1"));
  EXPECT_FALSE(Secret("a1") == Secret("a2"));
}

TEST(SecretRef, DescribesTheSourceNeverTheValue) {
  EXPECT_EQ((SecretRef{SecretRef::Kind::kEnv, "ZAI_API_KEY"}.describe()), "env:ZAI_API_KEY");
  EXPECT_EQ((SecretRef{SecretRef::Kind::kFile, "/run/keys/zai"}.describe()), "file:/run/keys/zai");
  EXPECT_EQ((SecretRef{SecretRef::Kind::kLiteral, ""}.describe()), "literal");
}

TEST(ProcessSecretSource, ReadsTheEnvironmentAndFiles) {
  ProcessSecretSource source;
  EXPECT_FALSE(source.get_env("SLUICE_TEST_SURELY_UNSET_VARIABLE_42").has_value());
  EXPECT_FALSE(source.read_file("/nonexistent/sluice/key").has_value());
  // PATH is set in any test environment.
  EXPECT_TRUE(source.get_env("PATH").has_value());
}

}  // namespace
}  // namespace sluice::config
