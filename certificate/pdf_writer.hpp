#pragma once

// The byte level of the PDF this folder writes: objects, streams, the xref table and the trailer,
// appended to one reusable buffer. Hand-written because the certificate is one fixed page and every
// byte must be reproducible (no dates, no random IDs) and cheap; PoDoFo serves only the baseline.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kofu::certificate {

/// Objects per document: the page's own, the static part and two person fonts; far above need.
inline constexpr uint32_t pdf_objects_max = 64;

/// Appends a PDF to a buffer. Object numbers are chosen by the caller; offsets are recorded.
class pdf_writer {
public:
  /// Starts a new document in `out` (cleared, capacity kept).
  explicit pdf_writer(std::string& out);

  /// Appends to `out` as it is, for pieces (a CMap, a content stream) built with the same helpers.
  enum append_t { append };
  pdf_writer(std::string& out, append_t) : out_(out) {}

  void header();
  void begin_object(uint32_t number);
  void end_object() { raw("\nendobj\n"); }

  /// Writes `<< dict /Length n >>stream ... endstream` as one whole object.
  void stream_object(uint32_t number, std::string_view dict_entries, std::string_view data);

  /// Appends bytes that hold whole objects laid out by another writer, shifting their offsets.
  void splice(std::string_view bytes, const std::vector<std::pair<uint32_t, size_t>>& offsets);

  /// Writes xref and trailer; `id_hex` is 32 hex digits. Every number below `objects` must be set.
  void finish(uint32_t objects, uint32_t root, uint32_t info, std::string_view id_hex);

  void raw(std::string_view s) { out_ += s; }
  void integer(int64_t v);
  /// A number in hundredths, written with up to two decimals: 59528 -> 595.28.
  void hundredths(int64_t v);
  void reference(uint32_t number);

  std::string& buffer() { return out_; }
  const std::vector<std::pair<uint32_t, size_t>>& offsets() const { return offsets_; }

private:
  std::string& out_;
  std::vector<std::pair<uint32_t, size_t>> offsets_;
};

/// `<FEFF...>`: a PDF text string in UTF-16BE for the Info dictionary.
std::string pdf_text_string(std::string_view utf8);

/// Lowercase hex of bytes.
std::string to_hex(std::string_view bytes);

} // namespace kofu::certificate
