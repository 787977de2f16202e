#pragma once

// The one way kofu's routes build an error answer: application/problem+json (RFC 9457) in the
// shape of center-api.md, from a kofu error code.

#include <initializer_list>
#include <string_view>
#include <utility>

#include "messages/error.hpp"
#include "net/http_types.hpp"

namespace kofu::net {

/// A problem answer for `code`; each of `members` (name, value) is added when its value is not
/// empty (`request_id`, `field`, `detail`). `retry_after_s` > 0 adds Retry-After.
http_response problem(ec code,
                      std::initializer_list<std::pair<std::string_view, std::string_view>> members
                      = {},
                      int retry_after_s = 0);

} // namespace kofu::net
