#pragma once

// Turns text items into content-stream operators: glyph lookup (through a glyph_source), width
// measuring, alignment, fitting into boxes and font switching within one line.

#include <cstdint>
#include <string_view>
#include <vector>

#include "certificate/page_layout.hpp"
#include "certificate/pdf_writer.hpp"
#include "certificate/unicode.hpp"

namespace kofu::certificate {

/// The fonts of the page, by resource name /F0, /F1, /F2.
enum class font_slot : uint8_t {
  fixed = 0,    // the static subset of the body font, shared by every certificate
  body = 1,     // the body font's glyphs this certificate needs beyond the static ones
  fallback = 2, // the fallback font (IPAmj明朝), only when a value needs it
};

struct placed_glyph {
  font_slot slot = font_slot::fixed;
  uint16_t cid = 0;
  int32_t width_1000 = 0;
};

/// Where glyphs come from; throws unrenderable_text when nothing can draw a cluster.
class glyph_source {
public:
  virtual ~glyph_source() = default;
  virtual placed_glyph resolve(cluster c, std::string_view field) = 0;
};

/// Clusters of one text item; an item is at most this many (an address is at most 128).
inline constexpr size_t item_clusters_max = 512;

/// Reusable buffers of the typesetter.
struct typeset_scratch {
  std::vector<cluster> clusters;
  std::vector<placed_glyph> glyphs;
  std::vector<size_t> line_ends;
};

/// Appends the operators drawing `item` to `content`.
void typeset(const text_item& item, glyph_source& source, typeset_scratch& scratch,
             pdf_writer& content);

} // namespace kofu::certificate
