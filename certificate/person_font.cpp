#include "certificate/person_font.hpp"

#include <algorithm>
#include <stdexcept>

#include "messages/secure_bytes.hpp"

namespace kofu::certificate {

void person_font::clear() {
  // Which characters a certificate drew is personal data (a name, an address): wiped, not only
  // forgotten.
  wipe(texts_);
  wipe(glyph_of_);
  wipe(width_of_);
  wipe(distinct_);
  wipe(entries_);
}

placed_glyph person_font::add(cluster text, glyph_id glyph) {
  for (size_t i = 0; i < texts_.size(); ++i)
    if (texts_[i] == text)
      return {slot_, static_cast<uint16_t>(i + 1), width_of_[i]};
  if (texts_.size() >= person_glyphs_max)
    throw std::length_error("certificate needs too many distinct characters");
  int32_t width = face_.advance_1000(glyph);
  texts_.push_back(text);
  glyph_of_.push_back(glyph);
  width_of_.push_back(width);
  if (std::find(distinct_.begin(), distinct_.end(), glyph) == distinct_.end())
    distinct_.push_back(glyph);
  return {slot_, static_cast<uint16_t>(texts_.size()), width};
}

uint32_t person_font::write(pdf_writer& w, uint32_t first, deflater& zip, std::string& scratch) {
  face_subset sub = face_.subset(distinct_);
  entries_.clear();
  for (size_t i = 0; i < texts_.size(); ++i) {
    size_t k = static_cast<size_t>(std::find(distinct_.begin(), distinct_.end(), glyph_of_[i])
                                   - distinct_.begin());
    entries_.push_back({static_cast<uint16_t>(i + 1), sub.new_ids[k], width_of_[i], texts_[i]});
  }
  auto objects = write_cid_font(w, first, {&face_, sub.font_file, entries_, false}, zip, scratch);
  wipe(sub.font_file); // the outlines of the name's and address's characters
  return objects;
}

} // namespace kofu::certificate
