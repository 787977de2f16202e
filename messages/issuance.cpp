#include "messages/issuance.hpp"

namespace kofu {

std::string content_fingerprint(const issuance_request& r) {
  // Unit separators keep field boundaries unambiguous; request_id and requested_at are left out.
  std::string s;
  for (auto* f : {&r.municipality_code, &r.certificate_type, &r.resident_code, &r.store_code,
                  &r.terminal_id}) {
    s += *f;
    s += '\x1f';
  }
  s += std::to_string(r.fiscal_year);
  return s;
}

} // namespace kofu
