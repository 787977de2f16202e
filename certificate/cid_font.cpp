#include "certificate/cid_font.hpp"

#include <array>
#include <stdexcept>

namespace kofu::certificate {

namespace {

/// A bfchar block holds at most 100 entries (Adobe Technical Note #5014).
constexpr size_t bfchar_block_entries_max = 100;

/// The six-letter subset tag of the BaseFont name (ISO 32000-1, 9.6.4), derived from the content
/// so that the same glyphs give the same name: no counter, no randomness.
std::string subset_tag(const cid_font_spec& spec) {
  uint64_t h = 14695981039346656037ull; // FNV-1a 64
  auto mix = [&](uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= (v >> (8 * i)) & 0xFF;
      h *= 1099511628211ull;
    }
  };
  for (const auto& e : spec.entries) {
    mix(e.cid);
    mix(e.new_glyph);
    mix(e.text.base);
    mix(e.text.selector);
  }
  std::string tag(6, 'A');
  for (auto& c : tag) {
    c = static_cast<char>('A' + h % 26);
    h /= 26;
  }
  return tag;
}

void write_hex4(pdf_writer& w, uint32_t v) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::array<char, 4> buf{digits[(v >> 12) & 15], digits[(v >> 8) & 15], digits[(v >> 4) & 15],
                          digits[v & 15]};
  w.raw({buf.data(), buf.size()});
}

void write_widths(pdf_writer& w, std::span<const cid_entry> entries) {
  w.raw("/W[");
  for (size_t i = 0; i < entries.size();) {
    w.integer(entries[i].cid);
    w.raw("[");
    size_t j = i;
    do {
      if (j > i)
        w.raw(" ");
      w.integer(entries[j].width_1000);
      ++j;
    } while (j < entries.size() && entries[j].cid == entries[j - 1].cid + 1);
    w.raw("]");
    i = j;
  }
  w.raw("]");
}

void build_to_unicode(std::span<const cid_entry> entries, std::string& out) {
  out.assign("/CIDInit/ProcSet findresource begin\n12 dict begin\nbegincmap\n"
             "/CIDSystemInfo<</Registry(Adobe)/Ordering(UCS)/Supplement 0>>def\n"
             "/CMapName/Adobe-Identity-UCS def\n/CMapType 2 def\n"
             "1 begincodespacerange\n<0000><FFFF>\nendcodespacerange\n");
  pdf_writer w{out, pdf_writer::append};
  for (size_t i = 0; i < entries.size(); i += bfchar_block_entries_max) {
    size_t n = std::min(bfchar_block_entries_max, entries.size() - i);
    w.integer(static_cast<int64_t>(n));
    w.raw(" beginbfchar\n");
    for (size_t j = i; j < i + n; ++j) {
      w.raw("<");
      write_hex4(w, entries[j].cid);
      w.raw("><");
      std::string utf16;
      append_utf16be(utf16, entries[j].text.base);
      if (entries[j].text.selector != 0)
        append_utf16be(utf16, entries[j].text.selector);
      w.raw(to_hex(utf16));
      w.raw(">\n");
    }
    w.raw("endbfchar\n");
  }
  w.raw("endcmap\nCMapName currentdict/CMap defineresource pop\nend\nend\n");
}

void build_cid_to_gid(std::span<const cid_entry> entries, std::string& out) {
  uint16_t max_cid = entries.empty() ? 0 : entries.back().cid;
  out.assign(2 * (static_cast<size_t>(max_cid) + 1), '\0');
  for (const auto& e : entries) {
    out[2 * e.cid] = static_cast<char>(e.new_glyph >> 8);
    out[2 * e.cid + 1] = static_cast<char>(e.new_glyph & 0xFF);
  }
}

void write_descriptor(pdf_writer& w, uint32_t number, const cid_font_spec& spec,
                      const std::string& base_font) {
  const auto& m = spec.face->metrics();
  w.begin_object(number);
  w.raw("<</Type/FontDescriptor/FontName/");
  w.raw(base_font);
  w.raw("/Flags 4/FontBBox[");
  for (int i = 0; i < 4; ++i) {
    if (i > 0)
      w.raw(" ");
    w.integer(m.bbox[i]);
  }
  w.raw("]/ItalicAngle 0/Ascent ");
  w.integer(m.ascent);
  w.raw("/Descent ");
  w.integer(m.descent);
  w.raw("/CapHeight ");
  w.integer(m.ascent);
  w.raw("/StemV 80/FontFile2 ");
  w.reference(number + 1);
  w.raw(">>");
  w.end_object();
}

} // namespace

uint32_t write_cid_font(pdf_writer& w, uint32_t first, const cid_font_spec& spec, deflater& zip,
                        std::string& scratch) {
  if (spec.face == nullptr)
    throw std::logic_error("write_cid_font: no face");
  const std::string base_font = subset_tag(spec) + "+" + spec.face->postscript_name();
  const uint32_t cid_font = first + 1, descriptor = first + 2, file = first + 3,
                 to_unicode = first + 4, cid_to_gid = first + 5;

  w.begin_object(first);
  w.raw("<</Type/Font/Subtype/Type0/BaseFont/");
  w.raw(base_font);
  w.raw("/Encoding/Identity-H/DescendantFonts[");
  w.reference(cid_font);
  w.raw("]/ToUnicode ");
  w.reference(to_unicode);
  w.raw(">>");
  w.end_object();

  w.begin_object(cid_font);
  w.raw("<</Type/Font/Subtype/CIDFontType2/BaseFont/");
  w.raw(base_font);
  w.raw("/CIDSystemInfo<</Registry(Adobe)/Ordering(Identity)/Supplement 0>>/FontDescriptor ");
  w.reference(descriptor);
  w.raw("/DW 1000");
  write_widths(w, spec.entries);
  w.raw("/CIDToGIDMap ");
  if (spec.identity_cid_to_gid)
    w.raw("/Identity");
  else
    w.reference(cid_to_gid);
  w.raw(">>");
  w.end_object();

  write_descriptor(w, descriptor, spec, base_font);

  zip.write_stream(w, file, "/Length1 " + std::to_string(spec.font_file.size()), spec.font_file,
                   scratch);

  std::string cmap;
  build_to_unicode(spec.entries, cmap);
  zip.write_stream(w, to_unicode, "", cmap, scratch);

  if (spec.identity_cid_to_gid)
    return cid_font_objects_max - 1;
  build_cid_to_gid(spec.entries, cmap);
  w.stream_object(cid_to_gid, "", cmap);
  return cid_font_objects_max;
}

} // namespace kofu::certificate
