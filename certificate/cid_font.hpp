#pragma once

// Writes one embedded font the way PDF wants CJK text: Type0 with Identity-H over a CIDFontType2
// (TrueType outlines), a sparse /W, and a ToUnicode CMap mapping each CID to the whole character
// sequence it draws (a surrogate pair for 𠮷, base + selector for 葛󠄀), so that text extraction
// returns exactly what was printed.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "certificate/deflater.hpp"
#include "certificate/font_face.hpp"
#include "certificate/pdf_writer.hpp"
#include "certificate/unicode.hpp"

namespace kofu::certificate {

/// One glyph of an embedded font.
struct cid_entry {
  uint16_t cid = 0;
  glyph_id new_glyph = 0;   // glyph id in the subset font file
  int32_t width_1000 = 1000;
  cluster text;
};

/// What one embedded font needs; `entries` sorted by CID, CIDs unique.
struct cid_font_spec {
  const font_face* face = nullptr;
  std::string_view font_file;        // the subset TrueType, uncompressed
  std::span<const cid_entry> entries;
  bool identity_cid_to_gid = true;   // CID == new glyph id; otherwise a CIDToGIDMap stream
};

/// Objects one font takes at most: Type0, CIDFont, FontDescriptor, FontFile2, ToUnicode and,
/// unless the map is the identity, CIDToGIDMap.
inline constexpr uint32_t cid_font_objects_max = 6;

/// Writes the font as objects numbered from `first` (the Type0 dictionary a /Font resource refers
/// to) and returns how many it wrote. `scratch` is reused to avoid allocations.
uint32_t write_cid_font(pdf_writer& w, uint32_t first, const cid_font_spec& spec, deflater& zip,
                        std::string& scratch);

} // namespace kofu::certificate
