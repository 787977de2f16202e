#pragma once

// Everything a render needs that does not depend on the person: the two faces, the static subset
// font (labels, digits, kana, ...) with its glyph table, the seal, and the static objects of the
// PDF already serialised. Built once by load_fonts; immutable afterwards and read by all threads.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "certificate/certificate.hpp"
#include "certificate/deflater.hpp"
#include "certificate/font_face.hpp"
#include "certificate/page_layout.hpp"
#include "certificate/pdf_writer.hpp"
#include "certificate/typesetter.hpp"

namespace kofu::certificate {

/// The fixed object numbers of every certificate PDF.
namespace object_number {
inline constexpr uint32_t catalog = 1;
inline constexpr uint32_t pages = 2;
inline constexpr uint32_t page = 3;
inline constexpr uint32_t info = 4;
inline constexpr uint32_t person_content = 5;
inline constexpr uint32_t fixed_font = 6;   // .. 10: Type0, CIDFont, descriptor, file, ToUnicode
inline constexpr uint32_t seal = 11;
inline constexpr uint32_t seal_mask = 12;
inline constexpr uint32_t static_content = 13;
inline constexpr uint32_t first_person_font = 14; // person fonts follow, 6 objects at most each
} // namespace object_number

/// Serialised objects with their offsets relative to the first byte.
struct object_bytes {
  std::string bytes;
  std::vector<std::pair<uint32_t, size_t>> offsets;
};

/// A SHA-256 digest.
using digest = std::array<unsigned char, 32>;

class font_set {
public:
  explicit font_set(const layout_config& config);

  const font_face& body() const { return *body_; }
  const font_face& fallback() const { return *fallback_; }

  /// The glyph of `cp` in the static font, if it is there.
  std::optional<placed_glyph> fixed_glyph(char32_t cp) const;

  /// Fonts, seal and static content (with or without the specimen mark).
  const object_bytes& shared_objects() const { return shared_; }
  const object_bytes& static_content(bool specimen) const { return content_[specimen ? 1 : 0]; }

  bool specimen() const { return specimen_; }

private:
  void build_fixed_font(const static_page& page, pdf_writer& w, deflater& zip);
  void build_static_content(const static_page& page, deflater& zip);

  std::unique_ptr<font_face> body_;
  std::unique_ptr<font_face> fallback_;
  std::unordered_map<char32_t, placed_glyph> fixed_;
  object_bytes shared_;
  std::array<object_bytes, 2> content_;
  bool specimen_ = true;
};

/// Checks the configured strings (the prefecture word, the length of the mayor's line); throws
/// std::runtime_error naming what is wrong.
void validate_layout_config(const layout_config& config);

/// An incremental SHA-256 (OpenSSL's EVP interface) whose state can be copied: a renderer hashes
/// the constant start of its files once and resumes from a copy for each certificate.
class sha256_state {
public:
  sha256_state();
  ~sha256_state();
  sha256_state(const sha256_state& other);
  sha256_state& operator=(const sha256_state&) = delete;

  void update(std::string_view bytes);
  /// The digest of everything given so far; the state is not changed.
  digest value() const;

private:
  struct ctx_deleter {
    void operator()(void* ctx) const noexcept;
  };
  std::unique_ptr<void, ctx_deleter> ctx_;
};

} // namespace kofu::certificate
