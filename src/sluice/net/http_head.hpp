#pragma once
// HTTP/1.1 message heads as one string, for the two writes every proxied
// request makes (the request upstream, the response to the client). Beast's
// serializer builds a field list (an allocation per field) and walks it
// through a chain of buffer views; a head written once into one string and
// sent with the body in one gather write costs a fraction of that
// (docs/decisions/0010). Beast still parses everything that arrives.
//
// Fields behave as Beast's `set` did: a later field replaces an earlier one
// of the same name. Framing fields (content-length, transfer-encoding,
// connection) are the writer's own; given ones are ignored. A field whose
// name is not a token or whose value holds CR, LF or NUL is dropped, never
// written: it would split the head (header injection).
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "sluice/net/http_server.hpp"  // HeaderFields

namespace sluice::net {

// Whether a field can be written as given (see above).
bool writable_field(std::string_view name, std::string_view value);

// "HTTP/1.x <status> <reason>" and the fields. `content_length` nullopt:
// chunked. 1xx, 204 and 304 carry no length (they have no body).
std::string response_head(int status, unsigned version, const HeaderFields& headers,
                          bool keep_alive, std::optional<std::size_t> content_length);

// "<method> <target> HTTP/1.1", host first, the fields, and the body's length
// (for a non-empty body, or POST/PUT/PATCH). Keep-alive is HTTP/1.1's default.
std::string request_head(std::string_view method, std::string_view target, std::string_view host,
                         const HeaderFields& headers, std::size_t content_length);

}  // namespace sluice::net
