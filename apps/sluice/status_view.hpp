#pragma once
// `sluice status`: the gateway's GET /status JSON as a terminal table. Pure:
// JSON in, lines out, so the layout is tested without a gateway.
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace sluice::cli {

// Columns padded to their widest cell (counting UTF-8 code points), two
// spaces apart, trailing spaces trimmed. Rows shorter than the header are
// padded with empty cells.
std::vector<std::string> format_table(const std::vector<std::string>& header,
                                      const std::vector<std::vector<std::string>>& rows);

// "12.5s", "3m05s", "2h01m", "-" for null; never negative.
std::string format_countdown(const nlohmann::json& seconds);

// The whole view: one row per provider, key fingerprint and limiter (limit
// vs in-flight, queue by priority, state: ready / cooling CLASS time left /
// disabled), the budgets remaining with their reset countdown, each benched
// key's reason, then the counters and the `max_events` newest events.
// Missing fields are shown as "-", never an error.
std::vector<std::string> render_status(const nlohmann::json& status, std::size_t max_events = 5);

}  // namespace sluice::cli
