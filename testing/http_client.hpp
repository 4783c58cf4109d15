#pragma once
// A blocking HTTP/1.1 client for tests: loopback only, with a timeout, keeps
// the connection between calls, and can read a streamed body chunk by chunk
// (to see that chunks arrive as they are sent, and whether the stream ended
// cleanly). Not for production use.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sluice::testing {

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool complete = false;  // the body ended as framed (not by a dropped connection)
  std::string error;      // transport error, if any
  std::optional<std::string> header(std::string_view name) const;
};

class HttpClient {
 public:
  explicit HttpClient(std::uint16_t port,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~HttpClient();

  HttpResponse request(const std::string& method, const std::string& target,
                       const std::vector<std::pair<std::string, std::string>>& headers = {},
                       const std::string& body = {});
  // Sends raw bytes and reads one response (for malformed-request tests).
  HttpResponse raw(const std::string& bytes);
  bool connected() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Writes `bytes` on a fresh connection and reads until the server closes it:
// everything the server sent, so a body where none belongs shows (a HEAD
// answer's) and pipelined answers can be read back as bytes.
std::string exchange_raw(std::uint16_t port, const std::string& bytes);

}  // namespace sluice::testing
