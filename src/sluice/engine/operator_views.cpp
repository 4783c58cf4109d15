#include "sluice/engine/engine_impl.hpp"

namespace sluice::engine {

auto RequestEngine::Impl::status_json() const -> std::string {
  json providers_json = json::array();
  const TimePoint now = clock.now();
  for (const auto& [name, p] : providers) {
    json keys = json::array();
    for (const auto& k : p.pool.keys) {
      json kj = {{"fingerprint", k.fingerprint}, {"uses", k.uses}, {"disabled", k.disabled}};
      if (cooling(k, now)) {
        if (k.cooling_until && *k.cooling_until > now) {
          kj["cooling_s"] = to_seconds(*k.cooling_until - now);
        }
        kj["cooling_class"] = k.cooling_class ? std::string(to_string(*k.cooling_class)) : "";
        kj["cooling_reason"] = k.cooling_reason;
      }
      if (const UpstreamKeyState* reg = upstream_of(p, k.fingerprint)) {
        json lim = json::object();
        for (const auto& [bucket, l] : reg->limiters) {
          lim[bucket.empty() ? "*" : bucket] = {
              {"limit", l->limit()},
              {"in_flight", l->in_flight()},
              {"queued", l->queued()},
              {"queued_by_priority",
               {{"interactive", l->queued(Priority::kInteractive)},
                {"background", l->queued(Priority::kBackground)}}}};
        }
        kj["limiters"] = std::move(lim);
        json budgets = json::array();
        for (const auto& [model, mb] : reg->budgets) {
          if (!mb.snapshot) continue;
          for (const auto& b : mb.snapshot->buckets) {
            const BudgetView v = view_of(*mb.snapshot, b, now);
            json bj = {{"model", model}, {"bucket", b.name}};
            bj["remaining"] = v.remaining ? json(*v.remaining) : json(nullptr);
            bj["limit"] = v.limit ? json(*v.limit) : json(nullptr);
            bj["reset_s"] = v.reset_in ? json(to_seconds(*v.reset_in)) : json(nullptr);
            budgets.push_back(std::move(bj));
          }
        }
        kj["budgets"] = std::move(budgets);
      }
      keys.push_back(std::move(kj));
    }
    providers_json.push_back({{"name", name},
                              {"dialect", std::string(to_string(p.cfg->dialect))},
                              {"base_url", p.cfg->base_url},
                              {"keys", std::move(keys)}});
  }
  // Counters for rates computed by the reader (the live page): totals only.
  json counters = {{"requests", metrics.requests_total()},
                   {"requests_ok", metrics.requests_with_outcome("ok")},
                   {"requests_error", metrics.requests_with_outcome("error")},
                   {"requests_refused", metrics.requests_with_outcome("refused")},
                   {"upstream_attempts", metrics.upstream_attempts_total()},
                   {"upstream_rate_limited",
                    metrics.upstream_with_class(to_string(ErrorClass::kRateLimit)) +
                        metrics.upstream_with_class(to_string(ErrorClass::kConcurrencyLimit))},
                   {"retries", metrics.retries()},
                   {"fallbacks", metrics.fallbacks()},
                   {"throttle_waits", metrics.throttle_waits()}};
  json recent = json::array();  // newest first
  for (auto it = metrics.recent().rbegin(); it != metrics.recent().rend(); ++it) {
    recent.push_back({{"age_s", to_seconds(now - it->at)},
                      {"kind", it->kind},
                      {"alias", it->alias},
                      {"where", it->where},
                      {"class", it->cls},
                      {"detail", it->detail}});
  }
  return json{{"now_ms", to_unix_ms(now)},
              {"providers", std::move(providers_json)},
              {"counters", std::move(counters)},
              {"recent", std::move(recent)}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

auto RequestEngine::Impl::metrics_text() const -> std::string {
  PromText out;
  metrics.render(out);
  const TimePoint now = clock.now();
  // Gauges, sampled now from the pools and the upstream registry.
  struct Row {
    const ProviderRuntime* p;
    const policy::KeyState* k;
    const UpstreamKeyState* reg;
  };
  std::vector<Row> rows;
  for (const auto& [name, p] : providers) {
    for (const auto& k : p.pool.keys) rows.push_back({&p, &k, upstream_of(p, k.fingerprint)});
  }
  const auto key_labels = [](const Row& r) {
    return Labels{{"provider", r.p->cfg->name}, {"key", r.k->fingerprint}};
  };
  // Limiters per bucket: "*" for the whole key, a model where the provider
  // caps each model separately (z.ai).
  const auto each_limiter = [&](auto fn) {
    for (const auto& r : rows) {
      if (!r.reg) continue;
      for (const auto& [bucket, l] : r.reg->limiters) {
        Labels labels = key_labels(r);
        labels.emplace_back("bucket", bucket.empty() ? "*" : bucket);
        fn(std::move(labels), *l);
      }
    }
  };
  out.family("sluice_in_flight", "gauge", "Requests in flight upstream per key and limiter.");
  each_limiter([&](Labels labels, const policy::PriorityLimiter& l) {
    out.sample("sluice_in_flight", labels, l.in_flight());
  });
  out.family("sluice_concurrency_limit", "gauge",
             "Current concurrency limit per key and limiter (adaptive).");
  each_limiter([&](Labels labels, const policy::PriorityLimiter& l) {
    out.sample("sluice_concurrency_limit", labels, l.limit());
  });
  out.family("sluice_queue_depth", "gauge",
             "Requests waiting for a concurrency slot per key, limiter and priority.");
  each_limiter([&](Labels labels, const policy::PriorityLimiter& l) {
    for (const Priority pr : {Priority::kInteractive, Priority::kBackground}) {
      Labels with = labels;
      with.emplace_back("priority", std::string(to_string(pr)));
      out.sample("sluice_queue_depth", with, static_cast<double>(l.queued(pr)));
    }
  });
  out.family("sluice_budget_remaining", "gauge",
             "Remaining budget per key, model and rate-limit bucket, as the provider last "
             "reported it (the full limit once its reset has passed).");
  for (const auto& r : rows) {
    if (!r.reg) continue;
    for (const auto& [model, mb] : r.reg->budgets) {
      if (!mb.snapshot) continue;
      for (const auto& b : mb.snapshot->buckets) {
        const BudgetView v = view_of(*mb.snapshot, b, now);
        if (!v.remaining) continue;
        Labels labels = key_labels(r);
        labels.emplace_back("model", model);
        labels.emplace_back("bucket", b.name);
        out.sample("sluice_budget_remaining", labels, static_cast<double>(*v.remaining));
      }
    }
  }
  out.family("sluice_key_cooling", "gauge",
             "1 while a key is benched (class = why), else 0 with class=\"none\".");
  for (const auto& r : rows) {
    Labels labels = key_labels(r);
    const bool on = cooling(*r.k, now);
    std::string cls = "none";
    if (on) cls = r.k->cooling_class ? std::string(to_string(*r.k->cooling_class)) : "UNKNOWN";
    labels.emplace_back("class", cls);
    out.sample("sluice_key_cooling", labels, on ? 1 : 0);
  }
  out.family("sluice_key_cooling_seconds", "gauge",
             "Seconds until a benched key is tried again (+Inf when disabled).");
  for (const auto& r : rows) {
    if (!cooling(*r.k, now)) continue;
    Labels labels = key_labels(r);
    labels.emplace_back(
        "class", r.k->cooling_class ? std::string(to_string(*r.k->cooling_class)) : "UNKNOWN");
    const double left = r.k->disabled ? std::numeric_limits<double>::infinity()
                                      : to_seconds(*r.k->cooling_until - now);
    out.sample("sluice_key_cooling_seconds", labels, left);
  }
  return out.text();
}

}  // namespace sluice::engine
