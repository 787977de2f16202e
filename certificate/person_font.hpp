#pragma once

// The glyphs one certificate needs from a face beyond the static font, collected while the page
// is typeset and then embedded as a subset of their own. CIDs are given in order of first use, one
// per distinct character sequence (so 葛 and 葛󠄀 keep their own ToUnicode even when one glyph draws
// both), and a CIDToGIDMap maps them to the subset's glyph ids.

#include <cstdint>
#include <string>
#include <vector>

#include "certificate/cid_font.hpp"
#include "certificate/font_face.hpp"
#include "certificate/typesetter.hpp"

namespace kofu::certificate {

/// Distinct character sequences one certificate may draw from one face (values are bounded:
/// address 128, name 64, kana 64 characters, the rest are static glyphs).
inline constexpr size_t person_glyphs_max = 1024;

class person_font {
public:
  person_font(const font_face& face, font_slot slot) : face_(face), slot_(slot) {}

  /// Wipes and forgets the characters of the last certificate.
  void clear();
  bool empty() const { return texts_.empty(); }

  /// The placed glyph of `text` drawn with `glyph`, adding it on first use.
  placed_glyph add(cluster text, glyph_id glyph);

  /// Subsets the face and writes the font objects from `first`; returns the objects written.
  uint32_t write(pdf_writer& w, uint32_t first, deflater& zip, std::string& scratch);

private:
  const font_face& face_;
  font_slot slot_;
  std::vector<cluster> texts_;        // by CID - 1
  std::vector<glyph_id> glyph_of_;    // by CID - 1, ids of the full face
  std::vector<int32_t> width_of_;     // by CID - 1
  std::vector<glyph_id> distinct_;    // distinct glyphs, the subset's input
  std::vector<cid_entry> entries_;
};

} // namespace kofu::certificate
