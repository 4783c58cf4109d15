#pragma once
// The Responses API's state for turns sluice serves: `previous_response_id`
// continues a conversation that the gateway kept, whatever served the turn
// before (docs/translation.md, "Responses state"). Pure functions over JSON
// text; the engine reads and writes the conversations through the state
// store.
//
// A stored conversation is JSON: {"origin":"sluice"|"upstream","items":[…]}
// where items are Responses input items (the turns' inputs and outputs in
// order). "upstream": the turn was passed through to a Responses provider,
// which keeps its own copy under the same id, so a later turn to a Responses
// provider passes the id through and only a translated turn needs the items.
// "sluice": the id is sluice's own, unknown to any provider, so every later
// turn carries the items.
#include <optional>
#include <string>
#include <string_view>

namespace sluice::translate {

enum class Origin { kSluice, kUpstream };

struct Continued {
  std::string body;  // the request with the history before its input
  Origin origin = Origin::kSluice;
};

// The request with the stored conversation's items put before its own input
// and previous_response_id removed; nullopt when the body is not a JSON object
// or the conversation is not one sluice wrote.
std::optional<Continued> continue_conversation(std::string_view request_body,
                                               std::string_view conversation);

struct Kept {
  std::string response_id;
  std::string conversation;
};

// What to keep after a turn: the request's input items (already continued,
// see above), then the answer's output items — message, function_call and
// reasoning that carries encrypted_content, without the item ids a provider
// would not know. `response` is a Responses response object; nullopt when it
// is not one with an id.
std::optional<Kept> conversation_after(std::string_view request_body, std::string_view response,
                                       Origin origin);

// Catches the response object of a Responses stream's final event
// (response.completed or response.incomplete) as the bytes go by, holding
// only the event in progress.
class FinalResponseCatcher {
 public:
  void feed(std::string_view bytes);
  // The final response object, once the stream delivered it.
  const std::optional<std::string>& response() const { return response_; }

 private:
  void event_done();

  std::string event_;  // the event in progress
  std::optional<std::string> response_;
};

}  // namespace sluice::translate
