#include "sluice/net/client_credentials.hpp"

#include "sluice/core/text.hpp"

namespace sluice::net {

std::string_view presented_api_key(const HeaderView& headers) {
  if (auto auth = headers.get("authorization")) {
    std::string_view v = trim(*auth);
    if (istarts_with(v, "bearer ")) return trim(v.substr(7));
    return v;
  }
  if (auto k = headers.get("x-api-key")) return trim(*k);
  if (auto k = headers.get("api-key")) return trim(*k);
  return {};
}

}  // namespace sluice::net
