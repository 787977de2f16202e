#pragma once

// The certificate renderer (certificate.md): one A4 page of 所得・課税証明書 as a small,
// deterministic PDF with real, extractable text. Start-up work (fonts, static glyphs, the static
// page) is done once in load_fonts and shared; each render thread owns one renderer.

#include <array>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "certificate/formatting.hpp"
#include "messages/records.hpp"

namespace kofu::certificate {

/// The certificate's part of the node's configuration.
struct layout_config {
  std::string city_name;           // e.g. 吹田市
  std::string mayor_name;          // e.g. 吹田　太郎 (fictitious)
  std::string prefecture_tax_word; // 府民税 | 都民税 | 道民税 | 県民税
  std::string seal_png_path;       // PNG of the mayor's seal (RGB or RGBA)
  std::string body_font_path = "/usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf";
  std::string gothic_font_path = "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"; // unused
  std::string fallback_font_path = "/usr/share/fonts/truetype/ipamj/ipamjm.ttf";
  bool specimen = true; // print a large 「見本」 across the page; only production turns it off
};

/// What one certificate shows.
struct certificate_input {
  resident_record resident;
  tax_record tax;
  std::string certificate_number; // YYYYMMDD-NNNNNN
  civil_date issue_date;
};

/// A character of a field that no configured font can draw. The message names the field and the
/// code point(s) only ("name: U+20BB7"), never the rest of the personal data.
class unrenderable_text : public std::runtime_error {
public:
  unrenderable_text(std::string field, std::string code_points);

  const std::string& field() const { return field_; }
  const std::string& code_points() const { return code_points_; }

private:
  std::string field_;
  std::string code_points_;
};

/// Parsed faces, the static font and the precomputed static page; immutable, shared by threads.
class font_set;

/// Loads the fonts and the seal and precomputes the static page. Throws std::runtime_error naming
/// the file that failed, or the configured string that the body font cannot draw.
std::shared_ptr<const font_set> load_fonts(const layout_config& config);

/// One per render thread: holds reusable buffers and compressors, nothing shared but the font_set.
class renderer {
public:
  explicit renderer(std::shared_ptr<const font_set> fonts);
  ~renderer();
  renderer(renderer&&) noexcept;
  renderer& operator=(renderer&&) noexcept;

  /// Renders one certificate. Throws unrenderable_text for a character no font can draw,
  /// std::length_error for a value too long to fit its box, std::invalid_argument for a
  /// not_filed record (never certified) or a certificate number that is not YYYYMMDD-NNNNNN.
  std::vector<uint8_t> render(const certificate_input& in);

  /// The built-in fictitious sample (GET /admin/v1/sample-certificate), always with 「見本」.
  std::vector<uint8_t> render_sample();

  /// The SHA-256 of the whole file the last render() or render_sample() returned, computed while
  /// writing it (its constant start hashed once per renderer): no second pass over the bytes.
  const std::array<unsigned char, 32>& last_sha256() const;

  /// Bytes of the last certificate still held in this renderer's reused buffers: 0 after every
  /// render() and render_sample(), returned or thrown, since each wipes them before it ends.
  size_t held_bytes() const;

private:
  struct state;
  std::unique_ptr<state> state_;
};

/// The fictitious resident and tax record of render_sample(); certificate number sequence
/// 000000 is never issued, so a sample can never be taken for a real certificate.
certificate_input sample_input();

} // namespace kofu::certificate
