#pragma once
// The port an answer leaves through: how the engine (and the front door)
// writes a whole or streamed response to the client. net/ implements it over
// a socket; engine tests implement it in memory.
#include <boost/asio/awaitable.hpp>
#include <string>
#include <string_view>

#include "sluice/core/headers.hpp"

namespace sluice::ports {

// How a handler answers. Every call returns false once the client is gone.
class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;
  // A whole response; Content-Length is set from the body.
  virtual boost::asio::awaitable<bool> send(int status, const HeaderList& headers,
                                            std::string body) = 0;
  // A streamed response: the status line and headers now (chunked encoding),
  // then each write_chunk() as it comes, never buffered whole.
  virtual boost::asio::awaitable<bool> begin_stream(int status, const HeaderList& headers) = 0;
  virtual boost::asio::awaitable<bool> write_chunk(std::string_view data) = 0;
  virtual boost::asio::awaitable<bool> end_stream() = 0;
  // Drops the connection without finishing the response: no terminal chunk.
  virtual void abort() = 0;
  // True once the status line went out (nothing else can be sent instead).
  virtual bool started() const = 0;
};

}  // namespace sluice::ports
