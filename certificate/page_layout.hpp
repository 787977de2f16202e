#pragma once

// Where everything goes on the A4 page. The page has two layers: the static one (labels, frames,
// city and mayor, the seal, the specimen mark) depends only on the configuration and is built once
// at start; the person layer (every value of one certificate) is built per render. Coordinates are
// PDF points from the lower left corner.

#include <string>
#include <string_view>
#include <vector>

#include "certificate/certificate.hpp"

namespace kofu::certificate {

inline constexpr double page_width_pt = 595.28;   // A4
inline constexpr double page_height_pt = 841.89;

enum class text_align : uint8_t { left, right, center };

/// One string on the page.
struct text_item {
  std::string text;
  std::string_view field;      // what an error names: "name", "address", "city_name", ...
  double x_pt = 0;             // the anchor on the baseline (left end, right end or centre)
  double y_pt = 0;
  double size_pt = 10;
  text_align align = text_align::left;
  /// When > 0 the text is fitted into the box (x, y) .. (x + box_width, y + box_height):
  /// shrunk from size_pt down to fit_size_min_pt, then wrapped, never cut.
  double box_width_pt = 0;
  double box_height_pt = 0;
  double angle_deg = 0;        // counter-clockwise rotation about the anchor
  double gray = 0;             // fill: 0 black .. 1 white
  /// False for a mark that is not part of the certificate's text (見本): drawn, but marked with an
  /// empty ActualText so that text extraction (pdftotext) does not return it.
  bool extractable = true;
};

/// The smallest size a fitted text shrinks to; below it a certificate is not legible on paper.
inline constexpr double fit_size_min_pt = 6;

struct rect_pt {
  double x = 0, y = 0, w = 0, h = 0;
};

struct static_page {
  std::vector<text_item> texts;   // labels and configured strings
  std::vector<rect_pt> frames;    // table cells, stroked
  text_item specimen;             // 「見本」, drawn under everything when enabled
  rect_pt seal;                   // the seal image, over the mayor's name
};

static_page make_static_page(const layout_config& config);

/// Characters the static font holds besides the static texts: the ones nearly every certificate
/// prints (digits, separators, era names, 年月日円, the title words, the words and numerals of the
/// city's addresses). Rarer ones, katakana included, go into each certificate's own font: they
/// cost less there than in every file (docs/CERTIFICATE.md).
std::string_view common_characters();

/// True for `YYYYMMDD-NNNNNN` (ASCII digits).
bool is_certificate_number(std::string_view text);

/// The person layer of one certificate, appended to `out` (cleared first). Throws
/// std::invalid_argument for a not_filed record or a malformed certificate number.
void make_person_items(const certificate_input& in, std::vector<text_item>& out);

} // namespace kofu::certificate
