#pragma once
// The Responses API's state for turns sluice serves: `previous_response_id`
// continues a conversation that the gateway kept, whatever served the turn
// before (docs/translation.md, "Responses state"). Pure functions over JSON
// text; the engine reads and writes the records through the state store.
//
// One record per turn, holding only what that turn added (its input items
// and its answer's output items) and the id of the turn it continued, so a
// long conversation costs storage in proportion to its length, not its
// square. A record is JSON:
//   {"origin": "sluice"|"upstream", "endpoint": "<base URL>", "owner": "<client>",
//    "parent": "<previous id>"|null, "items": [...]}
// "upstream": the turn was passed through to the Responses provider at
// `endpoint`, which keeps its own copy under the same id, so a later turn to
// that same endpoint passes the id through; any other candidate needs the
// items. "sluice": the id is sluice's own, unknown to any provider.
// `owner` is the gateway key's name that made the turn: another client
// never continues it.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::translate {

enum class Origin { kSluice, kUpstream };

struct KeptTurn {
  Origin origin = Origin::kSluice;
  std::string endpoint;  // the provider's base URL (origin upstream)
  std::string owner;
  std::string parent;  // "" for the first turn
  std::string items;   // a JSON array
};

// A stored record; nullopt when it is not one sluice wrote.
std::optional<KeptTurn> parse_kept(std::string_view record);

// The request with `history` (each a JSON array of items, oldest first) put
// before its own input and previous_response_id removed; nullopt when the
// body is not a JSON object or a history entry is not an array.
std::optional<std::string> continue_conversation(std::string_view request_body,
                                                 const std::vector<std::string>& history);

struct Kept {
  std::string response_id;
  std::string record;
};

// The record for a turn: the caller's own request (not the continued one:
// the history lives in the parents), then the answer's output items —
// message, function_call, and reasoning that carries encrypted_content,
// without item ids a provider would not know. `response` is a Responses
// object; nullopt unless it has an id and finished (completed or incomplete:
// a queued, in-progress or failed response is not a turn to continue).
std::optional<Kept> record_turn(std::string_view request_body, std::string_view response,
                                const KeptTurn& about);

// Catches the response object of a Responses stream's final event
// (response.completed or response.incomplete) as the bytes go by, holding
// only the event in progress.
class FinalResponseCatcher {
 public:
  void feed(std::string_view bytes);
  // A stream that ended cleanly may leave its last event without the blank
  // line that ends it.
  void finish();
  // The final response object, once the stream delivered it.
  const std::optional<std::string>& response() const { return response_; }

 private:
  void event_done();

  std::string event_;  // the event in progress
  std::optional<std::string> response_;
};

}  // namespace sluice::translate
