#pragma once
// The operator's live page (GET /): server/assets/index.html, embedded into
// the binary at build time (src/CMakeLists.txt), served as is. It holds no
// data of its own; it polls /status from the browser.
#include <string_view>

namespace sluice::server {

std::string_view live_page_html();

}  // namespace sluice::server
