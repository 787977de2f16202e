#pragma once

// One TrueType face loaded with HarfBuzz: character lookup, advances and subsetting. Immutable
// after construction, so one instance is shared by every render thread (HarfBuzz faces and fonts
// are thread-safe for reading; the preprocessed face carries the accelerators hb-subset needs).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <hb-subset.h>
#include <hb.h>

namespace kofu::certificate {

/// A glyph id of the full (not subset) face.
using glyph_id = uint32_t;

/// Font-wide metrics in 1/1000 em, the PDF glyph space (FontDescriptor).
struct face_metrics {
  int32_t bbox[4] = {0, 0, 1000, 1000};
  int32_t ascent = 880;
  int32_t descent = -120;
};

/// The output of one subset: the font file and, for each requested glyph, its new id.
struct face_subset {
  std::string font_file;           // a TrueType file holding only the requested glyphs
  std::vector<glyph_id> new_ids;   // new_ids[i] is the new id of the i-th requested glyph
};

class font_face {
public:
  /// Loads and preprocesses the face; throws std::runtime_error naming `path` on failure.
  explicit font_face(const std::string& path);
  ~font_face();
  font_face(const font_face&) = delete;
  font_face& operator=(const font_face&) = delete;

  std::optional<glyph_id> nominal_glyph(char32_t code_point) const;

  /// The glyph of an ideographic variation sequence (cmap format 14), default variants included.
  std::optional<glyph_id> variation_glyph(char32_t code_point, char32_t selector) const;

  /// Horizontal advance in 1/1000 em.
  int32_t advance_1000(glyph_id glyph) const;

  /// Subsets to `glyphs` (ids of this face, no duplicates; .notdef is added as new id 0).
  /// Hinting, cmap, names, layout and vertical tables are dropped: a PDF CIDFontType2 addresses
  /// glyphs by id and takes its widths from /W. Throws std::runtime_error when hb-subset fails.
  face_subset subset(std::span<const glyph_id> glyphs) const;

  const std::string& postscript_name() const { return postscript_name_; }
  const face_metrics& metrics() const { return metrics_; }
  const std::string& path() const { return path_; }

private:
  void read_names_and_metrics();

  std::string path_;
  hb_face_t* face_ = nullptr;      // the face as loaded, for lookups
  hb_face_t* prepared_ = nullptr;  // hb_subset_preprocess of face_ minus dropped tables (cmap)
  hb_font_t* font_ = nullptr;      // scale = units per em
  hb_subset_input_t* input_template_ = nullptr; // never used concurrently: copied per subset
  int32_t units_per_em_ = 1000;
  std::string postscript_name_;
  face_metrics metrics_;
};

} // namespace kofu::certificate
