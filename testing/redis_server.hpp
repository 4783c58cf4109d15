#pragma once
// A real redis-server for tests: started on a free loopback port with no
// persistence, stopped (and reaped) when the object goes. stop() and start()
// let a test take Redis away mid-run and bring it back on the same port.
#include <cstdint>
#include <string>

namespace sluice::testing {

class RedisServer {
 public:
  RedisServer();  // starts it; check ok()
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  bool ok() const { return pid_ > 0; }
  const std::string& error() const { return error_; }
  int port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_) + "/0"; }

  void stop();   // SIGKILL, like a crash; waits for the process
  bool start();  // on the same port; waits until it answers PING

 private:
  int port_ = 0;
  int pid_ = -1;
  std::string error_;
};

// The redis-server binary, or empty when it is not installed.
std::string redis_server_binary();

}  // namespace sluice::testing
