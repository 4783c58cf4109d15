#include "sluice/engine/engine_impl.hpp"

namespace sluice::engine {

// Looks up the conversation `req` continues. When the id is sluice's own,
// no provider knows it, so `req` itself is continued for every candidate.
auto RequestEngine::Impl::responses_state(FrontRequest& req) -> ResponsesState {
  ResponsesState rs;
  if (translate::api_of_path(req.path) != translate::Api::kResponses) return rs;
  const bool kept_at_all = config.state.conversations > Duration::zero();
  rs.keep = kept_at_all && req.facts.store;
  if (!req.facts.previous_response_id) return rs;
  const std::string id = *req.facts.previous_response_id;
  rs.previous_id = id;
  // Without the history, a kept turn would start the conversation over.
  rs.keep = false;
  rs.unknown_id = id;
  if (!kept_at_all) return rs;
  auto got = conversations().get_conversation(id, clock.now());
  if (!got.ok()) {
    store_error("get_conversation", got.error());
    return rs;
  }
  if (!got.value()) return rs;
  auto continued = translate::continue_conversation(req.body, *got.value());
  if (!continued) {
    store_error("get_conversation", state::StoreError{"the conversation kept for a "
                                                      "previous_response_id is unreadable"});
    return rs;
  }
  rs.unknown_id.clear();
  rs.keep = req.facts.store;
  if (continued->origin == translate::Origin::kSluice) {
    req.body = std::move(continued->body);
    req.facts = providers::inspect_body(req.body);
  } else {
    rs.continued = std::move(continued->body);
  }
  return rs;
}

// Keeps a served turn's conversation under its response id.
auto RequestEngine::Impl::keep_turn(const FrontRequest& req, const ResponsesState& rs,
                                    bool translated, std::string_view response) -> void {
  if (!rs.keep) return;
  auto kept = translate::conversation_after(
      rs.continued ? std::string_view(*rs.continued) : std::string_view(req.body), response,
      translated ? translate::Origin::kSluice : translate::Origin::kUpstream);
  if (!kept) return;
  const TimePoint now = clock.now();
  if (auto st = conversations().put_conversation(kept->response_id, kept->conversation, now,
                                                 now + config.state.conversations);
      !st.ok()) {
    store_error("put_conversation", st.error());
  }
}

}  // namespace sluice::engine
