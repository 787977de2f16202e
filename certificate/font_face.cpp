#include "certificate/font_face.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>

namespace kofu::certificate {

namespace {

/// Tables a PDF-embedded CIDFontType2 does not need (ISO 32000-1, 9.9: glyf, head, hhea, hmtx,
/// loca, maxp suffice; cmap, name and post are optional and the PDF provides widths and encoding).
constexpr std::array<hb_tag_t, 18> dropped_tables = {
  HB_TAG('c', 'm', 'a', 'p'), HB_TAG('n', 'a', 'm', 'e'), HB_TAG('p', 'o', 's', 't'),
  HB_TAG('G', 'S', 'U', 'B'), HB_TAG('G', 'P', 'O', 'S'), HB_TAG('G', 'D', 'E', 'F'),
  HB_TAG('B', 'A', 'S', 'E'), HB_TAG('J', 'S', 'T', 'F'), HB_TAG('v', 'h', 'e', 'a'),
  HB_TAG('v', 'm', 't', 'x'), HB_TAG('V', 'O', 'R', 'G'), HB_TAG('D', 'S', 'I', 'G'),
  HB_TAG('h', 'd', 'm', 'x'), HB_TAG('L', 'T', 'S', 'H'), HB_TAG('k', 'e', 'r', 'n'),
  HB_TAG('g', 'a', 's', 'p'), HB_TAG('V', 'D', 'M', 'X'), HB_TAG('P', 'C', 'L', 'T'),
};

/// The PostScript name is at most this long (a PDF name; Adobe's limit is 63).
constexpr size_t postscript_name_max_bytes = 63;

/// CIDs are 16-bit (Identity-H): a subset never holds more glyphs than that.
constexpr hb_codepoint_t subset_glyph_id_max = 0xFFFF;

int32_t to_1000(int32_t units, int32_t units_per_em) {
  // Round half away from zero, deterministic on every platform.
  int64_t scaled = static_cast<int64_t>(units) * 1000;
  int64_t half = units_per_em / 2;
  return static_cast<int32_t>(scaled >= 0 ? (scaled + half) / units_per_em
                                          : -((-scaled + half) / units_per_em));
}

/// A view of `face` without the tables subsets drop. hb-subset 6.0 walks the source's cmap to find
/// the characters of the requested glyphs even when cmap is dropped, which is costly for IPAmj明朝's
/// tens of thousands of entries; without a cmap in the source the walk is empty (measured: a
/// certificate needing IPAmj took about a third less CPU). Glyph ids are unchanged: every glyph is
/// kept, in order (checked by the glyph count after preprocessing).
hb_blob_t* reference_table_for_subsetting(hb_face_t*, hb_tag_t tag, void* user_data) {
  const auto* end = dropped_tables.end();
  if (tag == 0 || std::find(dropped_tables.begin(), end, tag) != end)
    return nullptr;
  return hb_face_reference_table(static_cast<hb_face_t*>(user_data), tag);
}

void destroy_face(void* face) {
  hb_face_destroy(static_cast<hb_face_t*>(face));
}

hb_face_t* face_for_subsetting(hb_face_t* face) {
  hb_face_t* view = hb_face_create_for_tables(reference_table_for_subsetting,
                                              hb_face_reference(face), destroy_face);
  hb_face_set_upem(view, hb_face_get_upem(face));
  hb_face_set_glyph_count(view, hb_face_get_glyph_count(face));
  hb_face_t* prepared = hb_subset_preprocess(view);
  hb_face_destroy(view);
  return prepared;
}

hb_subset_input_t* make_input_template() {
  hb_subset_input_t* input = hb_subset_input_create_or_fail();
  if (input == nullptr)
    throw std::runtime_error("hb_subset_input_create_or_fail failed");
  hb_subset_input_set_flags(input, HB_SUBSET_FLAGS_NO_HINTING);
  hb_set_t* drop = hb_subset_input_set(input, HB_SUBSET_SETS_DROP_TABLE_TAG);
  for (auto tag : dropped_tables)
    hb_set_add(drop, tag);
  return input;
}

} // namespace

font_face::font_face(const std::string& path) : path_(path) {
  hb_blob_t* blob = hb_blob_create_from_file_or_fail(path.c_str());
  if (blob == nullptr)
    throw std::runtime_error("cannot read font file " + path);
  face_ = hb_face_create(blob, 0);
  hb_blob_destroy(blob);
  if (hb_face_get_glyph_count(face_) == 0) {
    hb_face_destroy(face_);
    throw std::runtime_error("not a usable font file (no glyphs): " + path);
  }
  prepared_ = face_for_subsetting(face_);
  const unsigned int glyphs = hb_face_get_glyph_count(face_);
  if (prepared_ == nullptr || hb_face_get_glyph_count(prepared_) != glyphs) {
    hb_face_destroy(prepared_);
    hb_face_destroy(face_);
    throw std::runtime_error("hb_subset_preprocess failed for font file " + path);
  }
  hb_face_make_immutable(face_);
  font_ = hb_font_create(face_);
  hb_font_make_immutable(font_);
  units_per_em_ = static_cast<int32_t>(hb_face_get_upem(face_));
  input_template_ = make_input_template();
  read_names_and_metrics();
}

font_face::~font_face() {
  hb_subset_input_destroy(input_template_);
  hb_font_destroy(font_);
  hb_face_destroy(prepared_);
  hb_face_destroy(face_);
}

void font_face::read_names_and_metrics() {
  std::array<char, postscript_name_max_bytes + 1> name{};
  unsigned int size = name.size();
  hb_ot_name_get_utf8(face_, HB_OT_NAME_ID_POSTSCRIPT_NAME, HB_LANGUAGE_INVALID, &size,
                      name.data());
  for (char c : std::string_view{name.data(), size})
    if (c > ' ' && c < 0x7f && c != '/' && c != '(' && c != ')' && c != '[' && c != ']' && c != '<'
        && c != '>' && c != '{' && c != '}' && c != '%' && c != '#')
      postscript_name_ += c;
  if (postscript_name_.empty())
    postscript_name_ = "Embedded";
  hb_font_extents_t extents{};
  if (hb_font_get_h_extents(font_, &extents)) {
    metrics_.ascent = to_1000(extents.ascender, units_per_em_);
    metrics_.descent = to_1000(extents.descender, units_per_em_);
  }
  // head: xMin, yMin, xMax, yMax are int16 at byte offset 36.
  hb_blob_t* head = hb_face_reference_table(face_, HB_TAG('h', 'e', 'a', 'd'));
  unsigned int length = 0;
  const char* data = hb_blob_get_data(head, &length);
  constexpr unsigned head_bbox_offset = 36;
  if (data != nullptr && length >= head_bbox_offset + 8) {
    for (int i = 0; i < 4; ++i) {
      auto hi = static_cast<uint8_t>(data[head_bbox_offset + 2 * i]);
      auto lo = static_cast<uint8_t>(data[head_bbox_offset + 2 * i + 1]);
      metrics_.bbox[i] = to_1000(static_cast<int16_t>((hi << 8) | lo), units_per_em_);
    }
  }
  hb_blob_destroy(head);
}

std::optional<glyph_id> font_face::nominal_glyph(char32_t code_point) const {
  hb_codepoint_t glyph = 0;
  if (hb_font_get_nominal_glyph(font_, code_point, &glyph) && glyph != 0)
    return glyph;
  return std::nullopt;
}

std::optional<glyph_id> font_face::variation_glyph(char32_t code_point, char32_t selector) const {
  hb_codepoint_t glyph = 0;
  if (hb_font_get_variation_glyph(font_, code_point, selector, &glyph) && glyph != 0)
    return glyph;
  return std::nullopt;
}

int32_t font_face::advance_1000(glyph_id glyph) const {
  return to_1000(hb_font_get_glyph_h_advance(font_, glyph), units_per_em_);
}

face_subset font_face::subset(std::span<const glyph_id> glyphs) const {
  hb_subset_input_t* input = hb_subset_input_create_or_fail();
  if (input == nullptr)
    throw std::runtime_error("hb_subset_input_create_or_fail failed");
  hb_subset_input_set_flags(input, hb_subset_input_get_flags(input_template_));
  hb_set_set(hb_subset_input_set(input, HB_SUBSET_SETS_DROP_TABLE_TAG),
             hb_subset_input_set(input_template_, HB_SUBSET_SETS_DROP_TABLE_TAG));
  hb_set_t* glyph_set = hb_subset_input_glyph_set(input);
  for (auto g : glyphs)
    hb_set_add(glyph_set, g);
  hb_subset_plan_t* plan = hb_subset_plan_create_or_fail(prepared_, input);
  hb_subset_input_destroy(input);
  if (plan == nullptr)
    throw std::runtime_error("hb_subset_plan_create_or_fail failed for " + path_);
  face_subset out;
  const hb_map_t* old_to_new = hb_subset_plan_old_to_new_glyph_mapping(plan);
  out.new_ids.reserve(glyphs.size());
  for (auto g : glyphs) {
    hb_codepoint_t id = hb_map_get(old_to_new, g);
    if (id == HB_MAP_VALUE_INVALID || id > subset_glyph_id_max) {
      hb_subset_plan_destroy(plan);
      throw std::runtime_error("hb-subset dropped a requested glyph of " + path_);
    }
    out.new_ids.push_back(id);
  }
  hb_face_t* result = hb_subset_plan_execute_or_fail(plan);
  hb_subset_plan_destroy(plan);
  if (result == nullptr)
    throw std::runtime_error("hb_subset_plan_execute_or_fail failed for " + path_);
  hb_blob_t* blob = hb_face_reference_blob(result);
  unsigned int length = 0;
  const char* data = hb_blob_get_data(blob, &length);
  out.font_file.assign(data, length);
  hb_blob_destroy(blob);
  hb_face_destroy(result);
  return out;
}

} // namespace kofu::certificate
