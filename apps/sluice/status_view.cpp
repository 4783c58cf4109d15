#include "apps/sluice/status_view.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace sluice::cli {

namespace {

using nlohmann::json;

// Display width as UTF-8 code points (wide CJK glyphs count as one: close
// enough for a status table, and never splits a character).
std::size_t width(const std::string& s) {
  std::size_t n = 0;
  for (const unsigned char c : s) n += (c & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

// Upstream text (reasons, details) on one line.
std::string one_line(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return s;
}

std::string str(const json& obj, const char* field) {
  if (!obj.is_object()) return "-";
  const auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return "-";
  if (it->is_string())
    return it->get<std::string>().empty() ? "-" : one_line(it->get<std::string>());
  if (it->is_number_integer()) return std::to_string(it->get<std::int64_t>());
  if (it->is_number_unsigned()) return std::to_string(it->get<std::uint64_t>());
  if (it->is_boolean()) return it->get<bool>() ? "true" : "false";
  return it->dump();
}

const json& field(const json& obj, const char* name) {
  static const json kNull;
  if (!obj.is_object()) return kNull;
  const auto it = obj.find(name);
  return it == obj.end() ? kNull : *it;
}

const json& array_field(const json& obj, const char* name) {
  static const json kEmpty = json::array();
  const json& v = field(obj, name);
  return v.is_array() ? v : kEmpty;
}

std::string key_state(const json& key) {
  const bool disabled = field(key, "disabled").is_boolean() && field(key, "disabled").get<bool>();
  const json& cls = field(key, "cooling_class");
  const std::string cls_text = cls.is_string() && !cls.get<std::string>().empty()
                                   ? " " + cls.get<std::string>()
                                   : std::string();
  if (disabled) return "disabled" + cls_text;
  if (field(key, "cooling_s").is_number()) {
    return "cooling" + cls_text + " " + format_countdown(field(key, "cooling_s"));
  }
  if (cls.is_string()) return "cooling" + cls_text;  // benched, reset time unknown
  return "ready";
}

}  // namespace

std::vector<std::string> format_table(const std::vector<std::string>& header,
                                      const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths(header.size(), 0);
  const auto measure = [&](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (i >= widths.size()) widths.push_back(0);
      widths[i] = std::max(widths[i], width(row[i]));
    }
  };
  measure(header);
  for (const auto& r : rows) measure(r);
  const auto line = [&](const std::vector<std::string>& row) {
    std::string out;
    for (std::size_t i = 0; i < widths.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : std::string();
      if (i > 0) out += "  ";
      out += cell;
      out.append(widths[i] - width(cell), ' ');
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
  };
  std::vector<std::string> out;
  out.reserve(rows.size() + 1);
  out.push_back(line(header));
  for (const auto& r : rows) out.push_back(line(r));
  return out;
}

std::string format_countdown(const json& seconds) {
  if (!seconds.is_number()) return "-";
  const double s = std::max(0.0, seconds.get<double>());
  char buf[32];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", s);
  } else if (s < 3600) {
    const auto whole = static_cast<long long>(s);
    std::snprintf(buf, sizeof buf, "%lldm%02llds", whole / 60, whole % 60);
  } else {
    const auto minutes = static_cast<long long>(s / 60);
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", minutes / 60, minutes % 60);
  }
  return buf;
}

std::vector<std::string> render_status(const json& status, std::size_t max_events) {
  std::vector<std::vector<std::string>> keys, budgets, cooling;
  for (const json& p : array_field(status, "providers")) {
    const std::string provider = str(p, "name");
    for (const json& k : array_field(p, "keys")) {
      const std::string fp = str(k, "fingerprint");
      const std::string state = key_state(k);
      const json& limiters = field(k, "limiters");
      if (limiters.is_object() && !limiters.empty()) {
        for (const auto& [bucket, l] : limiters.items()) {
          const json& by = field(l, "queued_by_priority");
          keys.push_back({provider, fp, bucket, str(l, "in_flight") + "/" + str(l, "limit"),
                          str(by, "interactive") + "/" + str(by, "background"), state});
        }
      } else {
        keys.push_back({provider, fp, "-", "-", "-", state});  // not used yet
      }
      for (const json& b : array_field(k, "budgets")) {
        budgets.push_back({provider, fp, str(b, "model"), str(b, "bucket"),
                           str(b, "remaining") + "/" + str(b, "limit"),
                           format_countdown(field(b, "reset_s"))});
      }
      if (state != "ready") {
        cooling.push_back({provider, fp, state, str(k, "cooling_reason")});
      }
    }
  }

  std::vector<std::string> out;
  const auto append = [&out](const std::vector<std::string>& lines) {
    out.insert(out.end(), lines.begin(), lines.end());
  };
  if (keys.empty()) {
    out.emplace_back("no providers");
  } else {
    append(format_table({"PROVIDER", "KEY", "LIMITER", "IN FLIGHT/LIMIT", "QUEUED INT/BG", "STATE"},
                        keys));
  }
  if (!budgets.empty()) {
    out.emplace_back("");
    append(format_table({"PROVIDER", "KEY", "MODEL", "BUDGET", "REMAINING/LIMIT", "RESETS IN"},
                        budgets));
  }
  if (!cooling.empty()) {
    out.emplace_back("");
    append(format_table({"PROVIDER", "KEY", "COOLDOWN", "REASON"}, cooling));
  }

  const json& c = field(status, "counters");
  out.emplace_back("");
  out.push_back("requests " + str(c, "requests") + " (ok " + str(c, "requests_ok") + ", error " +
                str(c, "requests_error") + ", refused " + str(c, "requests_refused") +
                ")  upstream sends " + str(c, "upstream_attempts") + "  upstream 429s " +
                str(c, "upstream_rate_limited") + "  retries " + str(c, "retries") +
                "  fallbacks " + str(c, "fallbacks") + "  429s avoided " +
                str(c, "throttle_waits"));

  const json& recent = array_field(status, "recent");
  std::vector<std::vector<std::string>> events;
  for (std::size_t i = 0; i < recent.size() && i < max_events; ++i) {
    const json& e = recent[i];
    events.push_back({format_countdown(field(e, "age_s")) + " ago", str(e, "kind"), str(e, "alias"),
                      str(e, "where"), str(e, "class"), str(e, "detail")});
  }
  out.emplace_back("");
  if (events.empty()) {
    out.emplace_back("no recent events");
  } else {
    out.push_back("latest " + std::to_string(events.size()) + " of " +
                  std::to_string(recent.size()) + " events (newest first):");
    append(format_table({"AGE", "KIND", "ALIAS", "WHERE", "CLASS", "DETAIL"}, events));
  }
  return out;
}

}  // namespace sluice::cli
