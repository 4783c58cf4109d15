#pragma once
// A coroutine pause on the current executor; nothing for a non-positive wait.
#include <boost/asio/awaitable.hpp>

#include "sluice/core/time.hpp"

namespace sluice::net {

boost::asio::awaitable<void> sleep_for(Duration d);

}  // namespace sluice::net
