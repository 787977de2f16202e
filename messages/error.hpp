#pragma once

// kofu's error codes: one enum for every way a request can fail, one line of doc per value, and
// their HTTP face (status and problem code, center-api.md and admin-api.md).

#include <cstdint>
#include <string>
#include <string_view>

#include <caf/atom.hpp>
#include <caf/error.hpp>

namespace kofu {

enum class ec : uint8_t {
  /// Not an error.
  none = 0,
  /// Malformed request; `field` names what is wrong.
  bad_request,
  /// Unknown path, or unknown object.
  not_found,
  /// An outcome for a request that was never answered with a certificate.
  unknown_request,
  /// Wrong method for the path.
  method_not_allowed,
  /// Body not received in time.
  request_timeout,
  /// Same request_id with other content, after an outcome, or after the redelivery window.
  request_conflict,
  /// Another outcome for a request that already has one.
  outcome_conflict,
  /// Body too large.
  payload_too_large,
  /// Not application/json.
  unsupported_media_type,
  /// Any reason that belongs to the person (the precise reason goes to the audit log only).
  not_issuable,
  /// The fiscal year is not open for issuance.
  year_not_available,
  /// Unknown certificate_type.
  unsupported_certificate_type,
  /// municipality_code is not this city.
  wrong_municipality,
  /// Outside service hours or suspended by an operator.
  service_suspended,
  /// No capacity now; answered at once.
  overloaded,
  /// Anything else (storage failure, renderer crash, deadline passed).
  internal_error,
  /// Admin: no token or an unknown one.
  unauthorized,
  /// Admin: a token without the role.
  forbidden,
  /// Admin: a state conflict (rollover to an earlier year, a year with no feed).
  conflict,
  /// A character that no configured font can draw.
  unrenderable,
};

/// The HTTP status of an error code.
int http_status(ec x);

/// The problem code (`not_issuable`, ...).
std::string_view problem_code(ec x);

/// The human title of the problem.
std::string_view problem_title(ec x);

caf::error make_error(ec x);
caf::error make_error(ec x, std::string context);

/// The kofu error code inside a CAF error (internal_error for foreign errors).
ec error_code(const caf::error& e);

/// Renders kofu errors for CAF's logging.
std::string render_error(uint8_t code, caf::atom_value category, const caf::message& context);

inline constexpr caf::atom_value error_category_atom = caf::atom("kofu");

} // namespace kofu
