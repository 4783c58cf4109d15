#include "sluice/providers/sse_scan.hpp"

#include <algorithm>

namespace sluice::providers {

namespace {

// The Responses API's `response.failed` is its in-band error: it ends the
// stream, and the caller already has the provider's own account of why.
constexpr std::string_view kErrorMarkers[] = {
    "event: error", "data: {\"error\"", "\"finish_reason\":\"error\"", "event: response.failed"};
// `response.incomplete` (max_output_tokens, a content filter) ends a
// Responses stream as normally as `response.completed` does.
constexpr std::string_view kTerminalMarkers[] = {"[DONE]", "message_stop", "response.completed",
                                                 "response.incomplete"};

// Longer than any marker, so a marker split across pieces is still found.
constexpr std::size_t kTail = 64;

template <std::size_t N>
bool any_of(std::string_view text, const std::string_view (&markers)[N]) {
  return std::any_of(std::begin(markers), std::end(markers),
                     [&](std::string_view m) { return text.find(m) != std::string_view::npos; });
}

}  // namespace

bool has_data_event(std::string_view buf) {
  std::size_t start = 0;
  while (true) {
    const auto end = buf.find("\n\n", start);
    if (end == std::string_view::npos) return false;
    const std::string_view ev = buf.substr(start, end - start);
    if (ev.find("data:") != std::string_view::npos) return true;
    start = end + 2;
  }
}

void TerminalWatch::feed(std::string_view piece) {
  tail_ += piece;
  if (any_of(tail_, kErrorMarkers)) {
    error_ = true;
    seen_ = true;
  }
  if (any_of(tail_, kTerminalMarkers)) seen_ = true;
  if (tail_.size() > kTail) tail_.erase(0, tail_.size() - kTail);
}

}  // namespace sluice::providers
