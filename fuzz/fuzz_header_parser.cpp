// libFuzzer target: rate-limit header parsing. Input: "name: value" lines;
// the first byte picks the dialect. The parser must never crash, hang or
// throw, whatever the bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sluice/core/headers.hpp"
#include "sluice/policy/ratelimit/header_parser.hpp"
#include "sluice/policy/ratelimit/reset_value.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const auto dialect = static_cast<sluice::Dialect>(data[0] % 19);
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  sluice::HeaderList headers;
  while (!text.empty()) {
    const auto eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) {
      sluice::policy::parse_go_duration(line);
      sluice::policy::parse_rfc3339(line);
      continue;
    }
    headers.add(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
  }
  const sluice::TimePoint now = sluice::from_unix_ms(1'788'825'600'000);
  auto result = sluice::policy::parse_rate_limit_headers(headers.view(), dialect, now);
  (void)result.snapshot.most_exhausted();
  return 0;
}
