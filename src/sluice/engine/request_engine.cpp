#include "sluice/engine/engine_impl.hpp"

namespace sluice::engine {

std::string error_body(config::WireApi api, int status, std::string_view code,
                       std::string_view message) {
  if (api == config::WireApi::kAnthropic) {
    std::string type = status == 400                    ? "invalid_request_error"
                       : status == 401                  ? "authentication_error"
                       : status == 402                  ? "billing_error"
                       : status == 403                  ? "permission_error"
                       : status == 404                  ? "not_found_error"
                       : status == 413                  ? "request_too_large"
                       : status == 429                  ? "rate_limit_error"
                       : status == 503 || status == 529 ? "overloaded_error"
                       : status == 504                  ? "timeout_error"
                                                        : "api_error";
    return json_text(json{{"type", "error"}, {"error", {{"type", type}, {"message", message}}}});
  }
  std::string type = status == 429   ? "rate_limit_error"
                     : status >= 500 ? "server_error"
                                     : "invalid_request_error";
  return json_text(
      json{{"error", {{"message", message}, {"type", type}, {"param", nullptr}, {"code", code}}}});
}

RequestEngine::RequestEngine(asio::any_io_executor executor, const config::GatewayConfig& config,
                             const Clock& clock, Rng& rng, EnginePorts ports, state::Store* store,
                             state::Coordinator* coordinator)
    : impl_(std::make_unique<Impl>(executor, config, clock, rng, std::move(ports), store,
                                   coordinator)) {}

RequestEngine::~RequestEngine() = default;

// Not a coroutine itself: the request goes straight into Impl::handle's frame.
awaitable<void> RequestEngine::handle(FrontRequest&& request, ports::ResponseWriter& writer) {
  return impl_->handle(std::move(request), writer);
}

std::string RequestEngine::status_json() const { return impl_->status_json(); }

std::string RequestEngine::metrics_text() const { return impl_->metrics_text(); }

void RequestEngine::stop() { impl_->stop(); }

void RequestEngine::adopt(RequestEngine& previous) { impl_->adopt(*previous.impl_); }

void RequestEngine::apply_shared_cooldown(std::string_view key_scope) {
  impl_->apply_shared_cooldown(key_scope);
}

}  // namespace sluice::engine
