#pragma once
// Writing to a plain TCP socket without a trip through the event loop when
// the kernel takes the bytes at once — the usual case, as a request or a
// reply is far smaller than a socket's send buffer. An Asio async write that
// completes at once is still posted to the loop and its coroutine resumed from
// there: per proxied request that was two of its ~7 loop turns (decision
// 0011). nginx writes the same way (write, and wait only on EAGAIN).
//
// Usage, inside a coroutine (the fast path must not be a coroutine itself, or
// its frame would cost what it saves):
//
//   beast::error_code ec;
//   const std::size_t sent = write_now(socket, buffers, ec);
//   if (!ec && sent < buffer_bytes(buffers))
//     ec = co_await write_rest(socket, unsent(buffers, sent));
//
// The socket must be in non-blocking mode (socket.non_blocking(true)), so
// that a full send buffer answers would_block instead of blocking the loop.
// Not for TLS streams: their writes go through the SSL state machine.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/core/error.hpp>
#include <cstddef>

namespace sluice::net {

// Sends what the kernel takes now (one sendmsg). Would-block is not an error:
// it sends 0 bytes and the caller writes the rest asynchronously.
template <class ConstBuffers>
std::size_t write_now(boost::asio::ip::tcp::socket& socket, const ConstBuffers& buffers,
                      boost::beast::error_code& ec) {
  const std::size_t n = socket.write_some(buffers, ec);
  if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again) {
    ec = {};
    return 0;
  }
  return ec ? 0 : n;
}

// The bytes of `buffers` after the first `sent`, for the asynchronous write
// of the rest.
template <class ConstBuffers>
boost::beast::buffers_suffix<ConstBuffers> unsent(const ConstBuffers& buffers, std::size_t sent) {
  boost::beast::buffers_suffix<ConstBuffers> rest(buffers);
  rest.consume(sent);
  return rest;
}

// The slow path: the rest written asynchronously (a coroutine of its own,
// made only when the kernel did not take everything at once).
template <class ConstBuffers>
boost::asio::awaitable<boost::beast::error_code> write_rest(boost::asio::ip::tcp::socket& socket,
                                                            ConstBuffers rest) {
  auto [ec, n] = co_await boost::asio::async_write(
      socket, rest, boost::asio::as_tuple(boost::asio::use_awaitable));
  co_return ec;
}

}  // namespace sluice::net
