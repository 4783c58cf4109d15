#pragma once
// A small HTTP client for the subcommands (`status`, `demo`), on the gateway's
// own upstream client: one exchange, body read to the end. No Beast here.
#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "sluice/core/time.hpp"
#include "sluice/net/upstream_client.hpp"

namespace sluice::cli {

struct FetchReply {
  int status = 0;  // 0: no response (see error)
  net::HeaderFields headers;
  std::string body;
  std::string error;  // transport failure, never holds request headers
  std::optional<std::string> header(std::string_view name) const;
};

// One request; every parameter by value (a coroutine outlives its caller's
// temporaries, decision 0005).
boost::asio::awaitable<FetchReply> fetch(net::UpstreamClient& client, net::Endpoint endpoint,
                                         std::string method, std::string target,
                                         net::HeaderFields headers, std::string body);

// Blocking GET of `url` + `target` on a private io_context, for one-shot commands.
FetchReply fetch_blocking(const std::string& url, const std::string& target,
                          net::HeaderFields headers, Duration timeout);

}  // namespace sluice::cli
