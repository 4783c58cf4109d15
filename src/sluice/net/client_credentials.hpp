#pragma once
// The API key a client presents, however its SDK spells it: OpenAI's
// `Authorization: Bearer`, Anthropic's `x-api-key`, Azure's `api-key`.
#include <string_view>

#include "sluice/core/headers.hpp"

namespace sluice::net {

// The presented key (a view into `headers`), or empty when there is none.
std::string_view presented_api_key(const HeaderView& headers);

}  // namespace sluice::net
