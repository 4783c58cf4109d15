// A client that hangs up mid-stream is its own doing: the request gets its one
// log line, as CLIENT_DISCONNECT, and the provider's key is not blamed.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <nlohmann/json.hpp>

#include "testing/gateway_stack.hpp"
#include "testing/gateway_yaml.hpp"
#include "testing/http_client.hpp"
#include "testing/request_log.hpp"

namespace sluice::server {
namespace {

namespace asio = boost::asio;
using nlohmann::json;
using testing::GatewayStack;
using testing::HttpClient;
using testing::sim_provider;
using testing::url;

TEST(ClientGone, AClientThatLeavesMidStreamLeavesOneLogLineAndBlamesNoKey) {
  testing::RequestLog requests;
  {
    // A slow stream: 7 tokens 100 ms apart, so the client leaves while it flows.
    auto slow = sim_provider("slow", Dialect::kOpenAI);
    slow.latency.per_token = std::chrono::milliseconds(100);
    GatewayStack s({slow}, [](const std::vector<std::uint16_t>& p) {
      return testing::GatewayYaml::one("slow", Dialect::kOpenAI, p[0], "m").str();
    });
    {
      asio::io_context io;
      asio::ip::tcp::socket sock(io);
      sock.connect({asio::ip::make_address("127.0.0.1"), s.port()});
      const std::string body =
          R"({"model":"main","stream":true,"messages":[{"role":"user","content":"hi"}]})";
      asio::write(sock, asio::buffer("POST /v1/chat/completions HTTP/1.1\r\nHost: a\r\n"
                                     "content-type: application/json\r\ncontent-length: " +
                                     std::to_string(body.size()) + "\r\n\r\n" + body));
      // The head and the first events arrive; then the client hangs up.
      std::string got;
      while (got.find("data: ") == std::string::npos) {
        char buf[512];
        boost::system::error_code ec;
        const std::size_t n = sock.read_some(asio::buffer(buf), ec);
        if (ec) break;
        got.append(buf, n);
      }
      ASSERT_NE(got.find("200"), std::string::npos) << got;
    }
    ASSERT_TRUE(requests.wait_for(1)) << "no request log line";
    const json status = json::parse(HttpClient(s.port()).request("GET", "/status").body);
    for (const auto& p : status["providers"]) {
      for (const auto& k : p["keys"]) EXPECT_FALSE(k.contains("cooling_class")) << k.dump();
    }
  }
  const auto lines = requests.lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["outcome"], "CLIENT_DISCONNECT") << lines[0];
  EXPECT_EQ(lines[0]["route"], "slow/m");
}

}  // namespace
}  // namespace sluice::server
