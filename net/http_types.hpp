#pragma once

// The framework-free HTTP vocabulary of kofu: what a listener hands to its routes and what the
// routes hand back. No Beast or Asio here, so that the codecs and actors never compile them
// (docs/NET.md).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kofu::net {

/// One header line. Names keep the sender's spelling; compare them with `iequals`.
struct header_field {
  std::string name;
  std::string value;

  friend bool operator==(const header_field&, const header_field&) = default;
};

/// Headers in arrival order. A vector, not a map: requests carry a dozen headers at most and the
/// order is kept for the audit of what was received.
using header_list = std::vector<header_field>;

/// ASCII case-insensitive equality, as HTTP field names compare.
bool iequals(std::string_view a, std::string_view b) noexcept;

/// The value of the first header named `name`; nullopt when absent.
std::optional<std::string_view> find_header(const header_list& headers, std::string_view name);

/// Who is on the other end of a connection.
struct peer_info {
  /// The remote IP address as text (`127.0.0.1`, `::1`).
  std::string remote_address;
  uint16_t remote_port = 0;
  /// SHA-256 of the client certificate (DER), lowercase hex without colons; empty without one.
  std::string client_cert_sha256;
  /// The client certificate's subject CN; empty without one (or without a CN).
  std::string client_cert_subject_cn;
};

/// One complete request as the server hands it to a route.
struct http_request {
  std::string method; // as sent: "GET", "POST", ...
  std::string target; // origin-form: "/center/v1/issuances?x=1"
  unsigned version = 11; // 10 or 11
  header_list headers;
  /// The whole body for buffered routes; empty for streamed routes (their sink got the bytes).
  std::string body;
  peer_info peer;
  /// What the route policy attached to this request (body_policy::context), e.g. the id under
  /// which a streamed body was taken in; empty otherwise. Never set from anything the client sent.
  std::string route_context;

  /// Shorthand for `find_header(headers, name)`.
  std::optional<std::string_view> header(std::string_view name) const {
    return find_header(headers, name);
  }
};

/// One response. The server sets Content-Length and Connection itself; a `Connection: close` header
/// set here closes the connection after the write.
struct http_response {
  unsigned status = 200;
  header_list headers;
  /// Certificate PDFs hold personal data: the server wipes this buffer (explicit_bzero, whole
  /// capacity) once the write is over, whether it succeeded or not.
  std::string body;
};

/// An `application/problem+json` response (RFC 9457) in the shape every kofu interface uses:
/// `{"type":"about:blank","title":...,"status":N,"code":...}`. `extra_json_members`, when not empty,
/// is spliced in verbatim after "code" (e.g. `"request_id":"C1"`); the caller escapes it.
http_response problem_response(unsigned status, std::string_view code, std::string_view title,
                               std::string_view extra_json_members = {});

/// `text` as a JSON string literal, quotes included.
std::string json_quote(std::string_view text);

/// Overwrites the whole buffer of `s` (up to its capacity) with zeros and empties it.
void wipe(std::string& s) noexcept;

} // namespace kofu::net
