#pragma once
// Pure scanning of a relayed Server-Sent Events stream: whether a buffer
// already holds a complete event carrying data (the engine's stream probe),
// and whether a stream fed piece by piece has ended (its API's terminal
// event, or an in-band error event). No I/O; pieces may split anywhere.
#include <string>
#include <string_view>

namespace sluice::providers {

// True when `buf` holds a complete SSE event ("...\n\n") with a data field
// (not only comments or an event name).
bool has_data_event(std::string_view buf);

// Watches a relayed stream for its end: the API's terminal event, or an
// in-band error event (Anthropic's `event: error`, a chunk whose top level is
// an error, OpenRouter's finish_reason "error"), which ends it as well. The
// upstream's error event is already in the caller's API format (a candidate
// only serves its own wire API), so it is relayed as it is. Feeding a stream
// in any split gives the same answer as feeding it whole.
class TerminalWatch {
 public:
  void feed(std::string_view piece);
  bool seen() const { return seen_; }    // terminal or error event
  bool error() const { return error_; }  // an in-band error event

 private:
  std::string tail_;  // the end of what came before, for markers split across pieces
  bool seen_ = false;
  bool error_ = false;
};

}  // namespace sluice::providers
