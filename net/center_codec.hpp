#pragma once

// The center interface's wire format, kept apart from the issuance logic (center-api.md): JSON in,
// PDF or problem+json out. A second format (J-LIS uses SOAP) is another implementation of this
// interface; the sessions only ever see issuance_request and the answers below.

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "messages/error.hpp"
#include "messages/issuance.hpp"
#include "net/http_types.hpp"

namespace kofu::net {

/// Why a request was refused before it reached a session.
struct codec_error {
  ec code = ec::bad_request;
  std::string field;      // dotted path for bad_request
  std::string request_id; // when it could be read
};

/// A certificate ready to go out.
struct issued_certificate {
  std::string request_id;
  std::string certificate_number;
  uint32_t pages = 1;
  secure_bytes pdf;
  /// SHA-256 of `pdf` (computed once, for the audit entry and Repr-Digest alike).
  std::array<uint8_t, 32> sha256{};
};

class center_codec {
public:
  virtual ~center_codec() = default;

  /// POST /center/v1/issuances: checks media type and body, in the order of center-api.md
  /// (415, then 400 with the field).
  virtual std::variant<issuance_request, codec_error>
  decode_issuance(const http_request& request) const = 0;

  /// POST /center/v1/issuances/{id}/outcome.
  virtual std::variant<outcome_report, codec_error>
  decode_outcome(const http_request& request, std::string_view request_id) const = 0;

  virtual http_response encode_certificate(issued_certificate cert) const = 0;

  /// An error answer; never personal data. `retry_after_s` > 0 adds Retry-After.
  virtual http_response encode_error(ec code, std::string_view request_id,
                                     std::string_view field = {},
                                     int retry_after_s = 0) const = 0;

  /// 204 No Content.
  virtual http_response encode_no_content() const = 0;
};

/// The JSON profile v1 of center-api.md.
std::shared_ptr<const center_codec> make_json_codec();

/// True for 1–64 of [A-Za-z0-9._-].
bool valid_request_id(std::string_view id);

} // namespace kofu::net
