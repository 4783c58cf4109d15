#pragma once
// The gateway config a test runs against, written in one place: the
// document's shape (server, state, providers, models, errors), one flow
// mapping per provider and per alias, the base path each simulated dialect
// serves at, and base URLs quoted. Tests say only what is theirs:
//
//   GatewayYaml y;
//   y.provider({.name = "oa", .base_url = sim_base_url(Dialect::kOpenAI, p[0]),
//               .extra = "max_wait: 5s"});
//   y.model({.alias = "main", .route = {"oa/gpt-4o-mini"}});
//   return y.str();
#include <cstdint>
#include <string>
#include <vector>

#include "sluice/core/dialect.hpp"

namespace sluice::testing {

// Where `sluice sim` serves a dialect's API on `port`: z.ai under
// /api/paas/v4, Anthropic at the root, everyone else under /v1.
inline std::string sim_base_url(Dialect d, std::uint16_t port) {
  const std::string root = "http://127.0.0.1:" + std::to_string(port);
  if (d == Dialect::kZai) return root + "/api/paas/v4";
  if (d == Dialect::kAnthropic) return root;
  return root + "/v1";
}

struct GatewayYaml {
  struct Provider {
    std::string name;
    std::string api = "openai";
    std::string dialect;  // empty: inferred from the base URL
    std::string base_url;
    std::vector<std::string> keys = {"good-key"};
    std::string extra;  // more fields of its flow mapping: "max_concurrent: 3"
  };
  struct Model {
    std::string alias;
    std::vector<std::string> route;
    std::string extra;  // "queue_timeout: 2s"
  };

  std::string server;  // a whole `server:` block (or anything before `state:`)
  std::string state = "backend: memory";
  std::vector<Provider> providers;
  std::vector<Model> models;
  std::string after;  // blocks after the models: `errors:`, `retry:`

  GatewayYaml& provider(Provider p) {
    providers.push_back(std::move(p));
    return *this;
  }
  GatewayYaml& model(Model m) {
    models.push_back(std::move(m));
    return *this;
  }

  std::string str() const {
    const auto list = [](const std::vector<std::string>& items) {
      std::string out = "[";
      for (const auto& i : items) out += (out.size() > 1 ? ", " : "") + i;
      return out + "]";
    };
    std::string y = server + "state: {" + state + "}\nproviders:\n";
    for (const Provider& p : providers) {
      y += "  " + p.name + ": {api: " + p.api;
      if (!p.dialect.empty()) y += ", dialect: " + p.dialect;
      y += ", base_url: \"" + p.base_url + "\", keys: " + list(p.keys);
      if (!p.extra.empty()) y += ", " + p.extra;
      y += "}\n";
    }
    y += "models:\n";
    for (const Model& m : models) {
      y += "  " + m.alias + ": {route: " + list(m.route);
      if (!m.extra.empty()) y += ", " + m.extra;
      y += "}\n";
    }
    return y + after;
  }

  // The most common stack: one simulated provider, as `name`, behind alias
  // `main` routed to `name/model`.
  static GatewayYaml one(const std::string& name, Dialect d, std::uint16_t port,
                         const std::string& model, std::string extra = {}) {
    GatewayYaml y;
    y.provider({.name = name,
                .api = d == Dialect::kAnthropic ? "anthropic" : "openai",
                .base_url = sim_base_url(d, port),
                .extra = std::move(extra)});
    y.model({.alias = "main", .route = {name + "/" + model}});
    return y;
  }
};

}  // namespace sluice::testing
