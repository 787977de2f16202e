#include "messages/error.hpp"

#include <caf/make_message.hpp>
#include <caf/message.hpp>

namespace kofu {

namespace {

struct error_face {
  int status;
  std::string_view code;
  std::string_view title;
};

error_face face(ec x) {
  switch (x) {
    case ec::none: return {200, "ok", "OK"};
    case ec::bad_request: return {400, "bad_request", "Bad request"};
    case ec::not_found: return {404, "not_found", "Not found"};
    case ec::unknown_request: return {404, "unknown_request", "Unknown request"};
    case ec::method_not_allowed: return {405, "method_not_allowed", "Method not allowed"};
    case ec::request_timeout: return {408, "request_timeout", "Request timeout"};
    case ec::request_conflict: return {409, "request_conflict", "Request conflict"};
    case ec::outcome_conflict: return {409, "outcome_conflict", "Outcome conflict"};
    case ec::payload_too_large: return {413, "payload_too_large", "Payload too large"};
    case ec::unsupported_media_type:
      return {415, "unsupported_media_type", "Unsupported media type"};
    case ec::not_issuable: return {422, "not_issuable", "Certificate cannot be issued"};
    case ec::year_not_available:
      return {422, "year_not_available", "Fiscal year not available"};
    case ec::unsupported_certificate_type:
      return {422, "unsupported_certificate_type", "Unsupported certificate type"};
    case ec::wrong_municipality: return {422, "wrong_municipality", "Wrong municipality"};
    case ec::service_suspended: return {503, "service_suspended", "Service suspended"};
    case ec::overloaded: return {503, "overloaded", "Overloaded"};
    case ec::internal_error: return {500, "internal_error", "Internal error"};
    case ec::unauthorized: return {401, "unauthorized", "Unauthorized"};
    case ec::forbidden: return {403, "forbidden", "Forbidden"};
    case ec::conflict: return {409, "conflict", "Conflict"};
    case ec::unrenderable: return {500, "internal_error", "Internal error"};
  }
  return {500, "internal_error", "Internal error"};
}

} // namespace

int http_status(ec x) {
  return face(x).status;
}

std::string_view problem_code(ec x) {
  return face(x).code;
}

std::string_view problem_title(ec x) {
  return face(x).title;
}

caf::error make_error(ec x) {
  return {static_cast<uint8_t>(x), error_category_atom};
}

caf::error make_error(ec x, std::string context) {
  return {static_cast<uint8_t>(x), error_category_atom, caf::make_message(std::move(context))};
}

ec error_code(const caf::error& e) {
  if (!e)
    return ec::none;
  if (e.category() != error_category_atom || e.code() > static_cast<uint8_t>(ec::unrenderable))
    return ec::internal_error;
  return static_cast<ec>(e.code());
}

std::string render_error(uint8_t code, caf::atom_value, const caf::message& context) {
  std::string result = "kofu::";
  result += problem_code(static_cast<ec>(code));
  if (!context.empty())
    result += ": " + to_string(context);
  return result;
}

} // namespace kofu
