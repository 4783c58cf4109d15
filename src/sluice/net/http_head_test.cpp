#include "sluice/net/http_head.hpp"

#include <gtest/gtest.h>

namespace sluice::net {
namespace {

TEST(ResponseHead, StatusLineFieldsLengthAndTheBlankLine) {
  const HeaderFields h = {{"content-type", "application/json"}, {"x-sluice-route", "up/m"}};
  EXPECT_EQ(response_head(200, 11, h, true, 12),
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-sluice-route: up/m\r\n"
            "content-length: 12\r\n\r\n");
  EXPECT_EQ(response_head(429, 11, {}, false, 0),
            "HTTP/1.1 429 Too Many Requests\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
}

TEST(ResponseHead, ChunkedWhenNoLengthAndConnectionAsEachVersionNeedsIt) {
  EXPECT_EQ(response_head(200, 11, {}, true, std::nullopt),
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
  EXPECT_EQ(response_head(200, 10, {}, true, 3),
            "HTTP/1.0 200 OK\r\ncontent-length: 3\r\nconnection: keep-alive\r\n\r\n");
  EXPECT_EQ(response_head(200, 10, {}, false, 3), "HTTP/1.0 200 OK\r\ncontent-length: 3\r\n\r\n");
}

TEST(ResponseHead, BodilessStatusesCarryNoLength) {
  EXPECT_EQ(response_head(204, 11, {}, true, 0), "HTTP/1.1 204 No Content\r\n\r\n");
  EXPECT_EQ(response_head(304, 11, {}, true, 0), "HTTP/1.1 304 Not Modified\r\n\r\n");
}

TEST(ResponseHead, ALaterFieldReplacesAnEarlierOneOfTheSameName) {
  const HeaderFields h = {{"X-Route", "theirs"}, {"a", "1"}, {"x-route", "ours"}};
  EXPECT_EQ(response_head(200, 11, h, true, 0),
            "HTTP/1.1 200 OK\r\na: 1\r\nx-route: ours\r\ncontent-length: 0\r\n\r\n");
}

TEST(ResponseHead, FramingFieldsAreTheWritersOwn) {
  const HeaderFields h = {
      {"Content-Length", "999"}, {"transfer-encoding", "chunked"}, {"Connection", "close"}};
  EXPECT_EQ(response_head(200, 11, h, true, 2), "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n");
}

// A value with CR or LF would end the field and start another (or the body).
TEST(ResponseHead, FieldsThatWouldSplitTheHeadAreDropped) {
  const HeaderFields h = {{"x-evil", "a\r\nset-cookie: stolen=1"},
                          {"x-nul", std::string("a\0b", 3)},
                          {"bad name", "v"},
                          {"", "v"},
                          {"x-ok", "fine"}};
  EXPECT_EQ(response_head(200, 11, h, true, 0),
            "HTTP/1.1 200 OK\r\nx-ok: fine\r\ncontent-length: 0\r\n\r\n");
}

TEST(WritableField, TokensAndValuesWithoutLineBreaks) {
  EXPECT_TRUE(writable_field("x-ratelimit-remaining-requests", "59"));
  EXPECT_TRUE(writable_field("anthropic-beta", "a, b;q=1 \"quoted\"\t"));
  EXPECT_FALSE(writable_field("x:y", "v"));
  EXPECT_FALSE(writable_field("x", "v\n"));
  EXPECT_FALSE(writable_field("x", "v\r"));
}

// Names and values are tested in 16- and 8-byte steps with overlapping ends:
// a bad byte must be found at every position of every length, and every
// token character (not only letters, digits and dashes) must pass.
TEST(WritableField, ABadByteIsFoundAtEveryPositionOfEveryLength) {
  for (std::size_t size = 1; size <= 40; ++size) {
    for (std::size_t at = 0; at < size; ++at) {
      std::string name(size, 'a');
      EXPECT_TRUE(writable_field(name, "v"));
      for (char bad : {' ', ':', '(', '\x80', '\x7f', '\0', '@', '['}) {
        name[at] = bad;
        EXPECT_FALSE(writable_field(name, "v")) << "name size " << size << " at " << at;
      }
      for (char good : {'_', '.', '!', '~', 'Z', '9', '-', '`', '|'}) {
        name[at] = good;
        EXPECT_TRUE(writable_field(name, "v")) << "name size " << size << " at " << at;
      }
      std::string value(size, 'v');
      value[at] = '\t';
      EXPECT_TRUE(writable_field("x", value)) << "value size " << size << " at " << at;
      value[at] = '\xe2';  // UTF-8 passes untouched
      EXPECT_TRUE(writable_field("x", value)) << "value size " << size << " at " << at;
      for (char bad : {'\r', '\n', '\0'}) {
        value[at] = bad;
        EXPECT_FALSE(writable_field("x", value)) << "value size " << size << " at " << at;
      }
    }
  }
  EXPECT_FALSE(writable_field("", "v"));
  EXPECT_TRUE(writable_field("x", ""));
}

TEST(RequestHead, HostFirstThenFieldsThenLength) {
  const HeaderFields h = {{"authorization", "Bearer k"}, {"content-type", "application/json"}};
  EXPECT_EQ(request_head("POST", "/v1/chat/completions", "127.0.0.1:8080", h, 17),
            "POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1:8080\r\n"
            "authorization: Bearer k\r\ncontent-type: application/json\r\n"
            "content-length: 17\r\n\r\n");
}

TEST(RequestHead, AnEmptyPostSaysSoAGetDoesNot) {
  EXPECT_EQ(request_head("POST", "/x", "h", {}, 0),
            "POST /x HTTP/1.1\r\nhost: h\r\ncontent-length: 0\r\n\r\n");
  EXPECT_EQ(request_head("GET", "/v1/models", "h", {}, 0),
            "GET /v1/models HTTP/1.1\r\nhost: h\r\n\r\n");
}

TEST(RequestHead, AGivenHostReplacesTheEndpoints) {
  const HeaderFields h = {{"Host", "api.example"}};
  EXPECT_EQ(request_head("GET", "/", "10.0.0.1", h, 0),
            "GET / HTTP/1.1\r\nHost: api.example\r\n\r\n");
}

}  // namespace
}  // namespace sluice::net
