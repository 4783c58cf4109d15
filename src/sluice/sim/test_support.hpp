#pragma once
// Helpers for the sim's tests only: reading a ResponsePlan's headers and
// stream, and what sluice's own classifier makes of the response it plans.
#include <string>
#include <string_view>

#include "sluice/core/headers.hpp"
#include "sluice/core/text.hpp"
#include "sluice/policy/errors/classifier.hpp"
#include "sluice/sim/sim_provider.hpp"

namespace sluice::sim::test {

inline std::string header(const ResponsePlan& p, std::string_view name) {
  for (const auto& [n, v] : p.headers) {
    if (iequals(n, name)) return v;
  }
  return {};
}

inline std::string stream_bytes(const ResponsePlan& p) {
  std::string s;
  for (const auto& c : p.chunks) s += c.data;
  return s;
}

inline HeaderList header_list(const ResponsePlan& p) {
  HeaderList h;
  for (const auto& [n, v] : p.headers) h.add(n, v);
  return h;
}

// What sluice's classifier makes of the response the plan describes.
inline policy::Classification classify_plan(Dialect d, const ResponsePlan& p, TimePoint now) {
  const HeaderList h = header_list(p);
  const std::string body = p.streaming ? stream_bytes(p) : p.body;
  policy::UpstreamOutcome o;
  o.dialect = d;
  o.status = p.status;
  o.headers = h.view();
  o.body = body;
  o.now = now;
  if (p.ending == Ending::kCloseMidStream) o.transport = policy::TransportFailure::kEof;
  return policy::classify(o);
}

}  // namespace sluice::sim::test
