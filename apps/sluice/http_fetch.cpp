#include "apps/sluice/http_fetch.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <exception>

#include "sluice/core/text.hpp"

namespace sluice::cli {

std::optional<std::string> FetchReply::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (iequals(n, name)) return std::string(v);
  }
  return std::nullopt;
}

boost::asio::awaitable<FetchReply> fetch(net::UpstreamClient& client, net::Endpoint endpoint,
                                         std::string method, std::string target,
                                         net::HeaderFields headers, std::string body) {
  FetchReply out;
  ports::OutgoingBody whole{.before = {}, .middle = std::move(body), .after = {}};
  net::SendResult sent =
      co_await client.send(std::move(endpoint), std::move(method), std::move(target),
                           std::move(headers), std::move(whole));
  if (!sent.response) {
    out.error = std::string(net::to_string(sent.failure)) + ": " + sent.message;
    co_return out;
  }
  for (const auto& h : sent.response->headers().fields()) out.headers.add(h.name, h.value);
  while (auto piece = co_await sent.response->next()) out.body += *piece;
  if (!sent.response->complete()) {
    out.error = std::string(net::to_string(sent.response->failure())) + ": " +
                sent.response->failure_message();
    co_return out;
  }
  out.status = sent.response->status();
  co_return out;
}

FetchReply fetch_blocking(const std::string& url, const std::string& target,
                          net::HeaderFields headers, Duration timeout) {
  auto parsed = net::parse_base_url(url);
  if (auto* err = std::get_if<std::string>(&parsed)) return FetchReply{.error = *err};
  boost::asio::io_context io(1);
  net::ClientOptions opts;
  opts.connect_timeout = timeout;
  opts.first_byte_timeout = timeout;
  opts.idle_timeout = timeout;
  net::UpstreamClient client(io.get_executor(), opts);
  auto done = boost::asio::co_spawn(io,
                                    fetch(client, std::get<net::Endpoint>(std::move(parsed)), "GET",
                                          target, std::move(headers), std::string()),
                                    boost::asio::use_future);
  io.run();
  try {
    return done.get();
  } catch (const std::exception& e) {
    return FetchReply{.error = e.what()};
  }
}

}  // namespace sluice::cli
