#include <random>

#include "sluice/engine/engine_impl.hpp"

namespace sluice::engine {

namespace {

// The most turns one conversation is followed back; a longer chain (or a
// loop in a damaged store) reads as unknown rather than hanging a request.
constexpr int kMaxTurns = 4096;

}  // namespace

// Looks up the conversation `req` continues: its turns are followed back
// through their parents. When the id is sluice's own, no provider knows it,
// so `req` itself is continued for every candidate; when a provider made it,
// the continued body is kept aside for the candidates that are not that
// provider.
auto RequestEngine::Impl::responses_state(FrontRequest& req) -> ResponsesState {
  ResponsesState rs;
  if (translate::api_of_path(req.path) != translate::Api::kResponses) return rs;
  const bool kept_at_all = config.state.conversations > Duration::zero();
  rs.keep = kept_at_all && req.facts.store;
  if (rs.keep) rs.own_body = req.body;
  if (!req.facts.previous_response_id) return rs;
  const std::string id = *req.facts.previous_response_id;
  rs.previous_id = id;
  // Without the history, a kept turn would start the conversation over.
  rs.keep = false;
  rs.unknown_id = id;
  if (!kept_at_all) return rs;

  std::vector<std::string> history;  // newest first while walking
  std::optional<translate::KeptTurn> newest;
  std::string at = id;
  for (int turns = 0; !at.empty(); ++turns) {
    auto got = conversations().get_conversation(at, clock.now());
    if (!got.ok()) {
      store_error("get_conversation", got.error());
      rs.lookup_failed = true;
      return rs;
    }
    // An expired or missing turn breaks the chain: the history is unknown.
    if (!got.value() || turns == kMaxTurns) return rs;
    auto turn = translate::parse_kept(*got.value());
    if (!turn) {
      store_error("get_conversation",
                  state::StoreError{"a kept Responses turn is unreadable; treated as unknown"});
      rs.lookup_failed = true;
      return rs;
    }
    // Another client's conversation is not this one's to continue (nor to
    // learn exists).
    if (turn->owner != req.client) return rs;
    if (!newest) newest = *turn;
    history.push_back(std::move(turn->items));
    at = turn->parent;
  }
  std::reverse(history.begin(), history.end());
  auto continued = translate::continue_conversation(req.body, history);
  if (!continued) return rs;
  rs.unknown_id.clear();
  rs.keep = req.facts.store;
  if (newest->origin == translate::Origin::kSluice) {
    req.body = std::move(*continued);
    req.facts = providers::inspect_body(req.body);
  } else {
    rs.stored_at = newest->endpoint;
    rs.continued = std::move(*continued);
    rs.continued_facts = providers::inspect_body(*rs.continued);
  }
  return rs;
}

// Keeps a served turn under its response id: what it added, and the turn it
// continued.
auto RequestEngine::Impl::keep_turn(const FrontRequest& req, const ResponsesState& rs,
                                    bool translated, const ProviderRuntime& p,
                                    std::string_view response) -> void {
  if (!rs.keep) return;
  translate::KeptTurn about;
  about.origin = translated ? translate::Origin::kSluice : translate::Origin::kUpstream;
  about.endpoint = translated ? std::string() : p.cfg->base_url;
  about.owner = req.client;
  about.parent = rs.previous_id;
  auto kept = translate::record_turn(rs.own_body, response, about);
  if (!kept) return;
  const TimePoint now = clock.now();
  if (auto st = conversations().put_conversation(kept->response_id, kept->record, now,
                                                 now + config.state.conversations);
      !st.ok()) {
    store_error("put_conversation", st.error());
  }
}

// An id for a translated Responses turn that no one can guess: it is what
// stands between a client and a kept conversation (128 bits from the
// system's entropy source, not the engine's seeded Rng).
auto RequestEngine::Impl::new_response_id() -> std::string {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "resp_";
  for (int i = 0; i < 4; ++i) {
    std::uint32_t word = entropy();
    for (int n = 0; n < 8; ++n, word >>= 4) id += kHex[word & 15];
  }
  return id;
}

}  // namespace sluice::engine
