#pragma once

// The messages of an issuance: the center's request as the codec parsed it, the job a render worker
// gets, and the PDF it gives back. Framework-free except for the
// CAF whitelisting at the bottom (these types stay inside one node and are never serialized).

#include <array>
#include <cstdint>
#include <string>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/meta/type_name.hpp>

#include "messages/records.hpp"
#include "messages/secure_bytes.hpp"

namespace kofu {

/// POST /center/v1/issuances, validated by the codec (center-api.md).
struct issuance_request {
  std::string request_id;
  std::string municipality_code;
  std::string certificate_type;
  /// A year given outside 1..9999: of the rule (any integer), but never open for issuance.
  static constexpr int32_t no_such_year = -1;
  /// 0: absent (the latest open year).
  int32_t fiscal_year = 0;
  std::string resident_code;
  std::string store_code;
  std::string terminal_id;
  std::string requested_at;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, issuance_request& x) {
  return f(caf::meta::type_name("issuance_request"), x.request_id, x.municipality_code,
           x.certificate_type, x.fiscal_year, x.resident_code, x.store_code, x.terminal_id,
           x.requested_at);
}

/// "Same content" of a repeated request_id: everything but requested_at (center-api.md).
std::string content_fingerprint(const issuance_request& r);

/// An outcome report (POST /center/v1/issuances/{id}/outcome), validated by the codec.
struct outcome_report {
  std::string request_id;
  std::string outcome; // printed | print_failed | cancelled
  std::string reported_at;
};

/// What a render worker needs for one certificate, and nothing else.
struct render_job {
  resident_record resident;
  tax_record tax;
  std::string certificate_number;
  civil_date issue_date;
};

/// A rendered certificate.
struct rendered_pdf {
  secure_bytes bytes;
  uint32_t pages = 1;
  /// SHA-256 of `bytes`, taken by the renderer as it wrote them (renderer::last_sha256).
  std::array<uint8_t, 32> sha256{};
};

} // namespace kofu

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kofu::render_job)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kofu::rendered_pdf)
