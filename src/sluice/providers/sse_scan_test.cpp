#include "sluice/providers/sse_scan.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sluice::providers {
namespace {

TEST(SseScan, DataEventNeedsACompleteEventWithData) {
  EXPECT_FALSE(has_data_event(""));
  EXPECT_FALSE(has_data_event("data: {\"id\":1}\n"));           // not ended yet
  EXPECT_FALSE(has_data_event(": keep-alive\n\n: again\n\n"));  // comments only
  EXPECT_FALSE(has_data_event("event: ping\n\n"));
  EXPECT_TRUE(has_data_event(": keep-alive\n\ndata: {\"id\":1}\n\n"));
  EXPECT_TRUE(has_data_event("event: message_start\ndata: {}\n\nrest"));
}

TEST(SseScan, OpenAIStreamEndsAtDone) {
  TerminalWatch w;
  w.feed("data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n");
  EXPECT_FALSE(w.seen());
  w.feed("data: [DONE]\n\n");
  EXPECT_TRUE(w.seen());
  EXPECT_FALSE(w.error());
}

TEST(SseScan, AnthropicAndResponsesTerminalEvents) {
  TerminalWatch a;
  a.feed("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
  EXPECT_TRUE(a.seen());
  TerminalWatch r;
  r.feed("event: response.completed\ndata: {}\n\n");
  EXPECT_TRUE(r.seen());
  EXPECT_FALSE(r.error());
}

TEST(SseScan, ResponsesIncompleteEndsNormallyAndFailedEndsAsAnError) {
  TerminalWatch incomplete;
  incomplete.feed("event: response.output_text.delta\ndata: {\"delta\":\"hi\"}\n\n");
  EXPECT_FALSE(incomplete.seen());
  incomplete.feed(
      "event: response.incomplete\ndata: {\"type\":\"response.incomplete\",\"response\":"
      "{\"status\":\"incomplete\",\"incomplete_details\":{\"reason\":\"max_output_tokens\"}}}\n\n");
  EXPECT_TRUE(incomplete.seen());
  EXPECT_FALSE(incomplete.error());
  TerminalWatch failed;
  failed.feed(
      "event: response.failed\ndata: {\"type\":\"response.failed\",\"response\":"
      "{\"status\":\"failed\",\"error\":{\"code\":\"server_error\"}}}\n\n");
  EXPECT_TRUE(failed.seen());
  EXPECT_TRUE(failed.error());
}

TEST(SseScan, InBandErrorsEndTheStreamAsErrors) {
  for (const std::string ev :
       {"event: error\ndata: {\"type\":\"error\"}\n\n", "data: {\"error\":{\"message\":\"x\"}}\n\n",
        "data: {\"choices\":[{\"finish_reason\":\"error\"}]}\n\n"}) {
    TerminalWatch w;
    w.feed(ev);
    EXPECT_TRUE(w.seen()) << ev;
    EXPECT_TRUE(w.error()) << ev;
  }
}

TEST(SseScan, MarkersSplitAcrossPiecesAreFound) {
  const std::string stream =
      "data: {\"x\":\"" + std::string(200, 'a') + "\"}\n\nevent: message_stop\ndata: {}\n\n";
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    TerminalWatch w;
    w.feed(std::string_view(stream).substr(0, cut));
    w.feed(std::string_view(stream).substr(cut));
    EXPECT_TRUE(w.seen()) << cut;
    EXPECT_FALSE(w.error()) << cut;
  }
  // Byte by byte, too.
  TerminalWatch w;
  for (char c : std::string("data: {\"error\":{}}\n\n")) w.feed(std::string_view(&c, 1));
  EXPECT_TRUE(w.error());
}

TEST(SseScan, AStreamCutBeforeItsTerminalEventIsNotSeen) {
  TerminalWatch w;
  w.feed("event: message_start\ndata: {}\n\nevent: content_block_delta\ndata: {}\n\n");
  w.feed("event: message_st");
  EXPECT_FALSE(w.seen());
}

}  // namespace
}  // namespace sluice::providers
