// libFuzzer target: the HTTP request path. Beast's request parser reads the
// bytes under the server's limits (byte 0 picks the config defaults or tiny
// limits, so the 413/431 paths are reached too), then the request is turned
// into what the front door reads: path, headers, the presented key, the
// request controls, the body facts and the spliced body. Must never crash,
// hang or throw; a parse that succeeds stays within the limits.
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sluice/config/gateway_config.hpp"
#include "sluice/core/headers.hpp"
#include "sluice/core/priority.hpp"
#include "sluice/core/text.hpp"
#include "sluice/net/client_credentials.hpp"
#include "sluice/policy/routing/route.hpp"
#include "sluice/providers/model_splice.hpp"

namespace http = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const sluice::config::ServerConfig defaults;
  const bool tiny = (data[0] & 1) != 0;
  const std::size_t header_limit = tiny ? 256 : defaults.max_header_bytes;
  const std::size_t body_limit = tiny ? 512 : defaults.max_body_bytes;

  http::request_parser<http::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(header_limit));
  parser.body_limit(body_limit);
  parser.eager(true);
  boost::beast::error_code ec;
  boost::asio::const_buffer buf(data + 1, size - 1);
  while (buf.size() > 0 && !parser.is_done()) {
    const std::size_t n = parser.put(buf, ec);
    buf += n;
    if (ec == http::error::need_more) {
      ec = {};
      if (n == 0) break;
      continue;
    }
    if (ec) return 0;  // 400, 413 or 431 at the server
  }
  if (!parser.is_done() && parser.got_some()) {
    parser.put_eof(ec);
    if (ec) return 0;
  }
  if (!parser.is_done()) return 0;

  auto msg = parser.release();
  if (msg.body().size() > body_limit) std::abort();
  // As net::HttpServer hands it to the gateway.
  const std::string target(msg.target());
  const std::string path = target.substr(0, target.find('?'));
  sluice::HeaderList headers;
  for (const auto& f : msg) headers.add(std::string(f.name_string()), std::string(f.value()));
  const sluice::HeaderView h = headers.view();

  // As the gateway's front door reads it.
  (void)sluice::net::presented_api_key(h);
  if (auto p = h.get("x-sluice-priority")) (void)sluice::priority_from_string(*p);
  if (auto d = h.get("x-sluice-deadline-ms")) (void)sluice::parse_integer(*d);
  (void)path.starts_with("/v1/messages");
  const auto facts = sluice::providers::inspect_body(msg.body());
  if (facts.valid && facts.model) {
    (void)sluice::policy::parse_route_target(*facts.model);
    const std::string out = sluice::providers::splice_model(msg.body(), facts, "upstream-model");
    if (sluice::providers::inspect_body(out).model != "upstream-model") std::abort();
  }
  return 0;
}
