#pragma once
// A provider that misbehaves on purpose, for tests: it listens on 127.0.0.1
// port 0, reads each request (head and Content-Length body), and hands the raw
// socket to a script that writes whatever bytes it likes — a short body, a
// body that never ends, junk after the body. Blocking sockets and one thread
// per connection; everything stops when the object is destroyed. Not for
// production use.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace sluice::testing {

class ScriptedUpstream {
 public:
  struct Conn {
    int fd;
    const std::atomic<bool>& stopping;
    // Writes all of `data`; false once the peer is gone (or the test ends).
    bool write(std::string_view data) const {
      while (!data.empty()) {
        const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n <= 0 || stopping) return false;
        data.remove_prefix(static_cast<std::size_t>(n));
      }
      return true;
    }
  };
  // Answers one request (its head and body as received). Returns whether the
  // connection stays open for another request.
  using Script = std::function<bool(const Conn&, const std::string& request)>;

  explicit ScriptedUpstream(Script script) : script_(std::move(script)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listen_fd_, 64) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      return;
    }
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~ScriptedUpstream() {
    stopping_ = true;
    if (acceptor_.joinable()) acceptor_.join();
    {
      const std::lock_guard lock(mutex_);
      for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);  // unblocks a script mid-write
    }
    for (auto& t : handlers_) t.join();
    for (int fd : open_fds_) ::close(fd);
    ::close(listen_fd_);
  }
  ScriptedUpstream(const ScriptedUpstream&) = delete;
  ScriptedUpstream& operator=(const ScriptedUpstream&) = delete;

  std::uint16_t port() const { return port_; }
  int requests() const { return requests_; }
  int connections() const { return connections_; }

 private:
  void accept_loop() {
    while (!stopping_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      ++connections_;
      const std::lock_guard lock(mutex_);
      open_fds_.push_back(fd);
      handlers_.emplace_back([this, fd] { serve(fd); });
    }
  }

  // Reads one request: the head, then Content-Length bytes of body.
  bool read_request(int fd, std::string& buffer, std::string& request) {
    std::size_t head_end;
    while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
      if (!read_some(fd, buffer)) return false;
    }
    std::size_t body = 0;
    std::string head = buffer.substr(0, head_end);
    for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (const auto at = head.find("content-length:"); at != std::string::npos) {
      body = std::stoul(head.substr(at + 15));
    }
    while (buffer.size() < head_end + 4 + body) {
      if (!read_some(fd, buffer)) return false;
    }
    request = buffer.substr(0, head_end + 4 + body);
    buffer.erase(0, head_end + 4 + body);
    return true;
  }

  bool read_some(int fd, std::string& buffer) {
    while (!stopping_) {
      pollfd p{fd, POLLIN, 0};
      const int ready = ::poll(&p, 1, 50);
      if (ready < 0) return false;
      if (ready == 0) continue;
      char chunk[16 * 1024];
      const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) return false;
      buffer.append(chunk, static_cast<std::size_t>(n));
      return true;
    }
    return false;
  }

  void serve(int fd) {
    std::string buffer, request;
    const Conn conn{fd, stopping_};
    while (read_request(fd, buffer, request)) {
      ++requests_;
      if (!script_(conn, request)) break;
    }
    ::shutdown(fd, SHUT_RDWR);
  }

  Script script_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> requests_{0};
  std::atomic<int> connections_{0};
  std::mutex mutex_;
  std::vector<int> open_fds_;  // closed when the object goes (fds are not reused meanwhile)
  std::vector<std::thread> handlers_;
  std::thread acceptor_;
};

}  // namespace sluice::testing
