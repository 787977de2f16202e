#include "certificate/typesetter.hpp"

#include <algorithm>
#include <cmath>
#include <span>
#include <stdexcept>
#include <string>

namespace kofu::certificate {

namespace {

/// Baseline-to-baseline distance of wrapped lines, in ems.
constexpr double line_spacing_em = 1.15;
/// How much a fitted text shrinks per try, in points.
constexpr double fit_step_pt = 0.5;
/// The part of an em above the baseline, to centre lines vertically.
constexpr double ascent_em = 0.85;

int64_t to_hundredths(double pt) {
  return std::llround(pt * 100);
}

int64_t width_1000(std::span<const placed_glyph> glyphs) {
  int64_t w = 0;
  for (const auto& g : glyphs)
    w += g.width_1000;
  return w;
}

/// Greedy wrap at glyph boundaries; fills `ends` and returns false once more than `lines_max`.
bool wrap(std::span<const placed_glyph> glyphs, double limit_1000, size_t lines_max,
          std::vector<size_t>& ends) {
  ends.clear();
  double line = 0;
  for (size_t i = 0; i < glyphs.size(); ++i) {
    if (line > 0 && line + glyphs[i].width_1000 > limit_1000) {
      ends.push_back(i);
      line = 0;
    }
    line += glyphs[i].width_1000;
  }
  ends.push_back(glyphs.size());
  return ends.size() <= lines_max;
}

void write_hex4(pdf_writer& w, uint16_t v) {
  static constexpr char digits[] = "0123456789ABCDEF";
  char buf[4] = {digits[v >> 12], digits[(v >> 8) & 15], digits[(v >> 4) & 15], digits[v & 15]};
  w.raw({buf, 4});
}

bool is_blank(const cluster& c) {
  return c.base == U'\u3000' || c.base == U' ';
}

void write_utf16(pdf_writer& w, char32_t cp) {
  if (cp < 0x10000) {
    write_hex4(w, static_cast<uint16_t>(cp));
    return;
  }
  cp -= 0x10000;
  write_hex4(w, static_cast<uint16_t>(0xD800 + (cp >> 10)));
  write_hex4(w, static_cast<uint16_t>(0xDC00 + (cp & 0x3FF)));
}

/// One line of glyphs; `clusters` are the characters they draw, one per glyph. A line with a
/// blank in it is marked with its text as ActualText: poppler (pdftotext) turns a drawn U+3000 or
/// space into a gap between words, and on a wide gap splits the line (氏名 "髙橋　美香" came out as
/// "髙橋" and "美香" apart), so the certificate's strings would not be extracted as printed.
void emit_line(pdf_writer& w, std::span<const placed_glyph> glyphs,
               std::span<const cluster> clusters, double x, double y, double size,
               const text_item& item) {
  if (glyphs.empty())
    return;
  bool marked = !item.extractable || std::any_of(clusters.begin(), clusters.end(), is_blank);
  if (marked) {
    w.raw("/Span<</ActualText<FEFF");
    if (item.extractable)
      for (const auto& c : clusters) {
        write_utf16(w, c.base);
        if (c.selector != 0)
          write_utf16(w, c.selector);
      }
    w.raw(">>>BDC ");
  }
  if (item.gray != 0) {
    w.raw("q ");
    w.hundredths(to_hundredths(item.gray));
    w.raw(" g ");
  }
  w.raw("BT ");
  if (item.angle_deg != 0) {
    double r = item.angle_deg * 3.14159265358979323846 / 180;
    int64_t c = to_hundredths(std::cos(r)), s = to_hundredths(std::sin(r));
    for (int64_t v : {c, s, -s, c}) {
      w.hundredths(v);
      w.raw(" ");
    }
    w.hundredths(to_hundredths(x));
    w.raw(" ");
    w.hundredths(to_hundredths(y));
    w.raw(" Tm ");
  } else {
    w.hundredths(to_hundredths(x));
    w.raw(" ");
    w.hundredths(to_hundredths(y));
    w.raw(" Td ");
  }
  int slot = -1;
  for (const auto& g : glyphs) {
    if (static_cast<int>(g.slot) != slot) {
      if (slot >= 0)
        w.raw(">Tj ");
      slot = static_cast<int>(g.slot);
      w.raw("/F");
      w.integer(slot);
      w.raw(" ");
      w.hundredths(to_hundredths(size));
      w.raw(" Tf<");
    }
    write_hex4(w, g.cid);
  }
  w.raw(">Tj ET");
  if (item.gray != 0)
    w.raw(" Q");
  w.raw(marked ? " EMC\n" : "\n");
}

void typeset_single(const text_item& item, std::span<const placed_glyph> glyphs,
                    std::span<const cluster> clusters, pdf_writer& content) {
  double width = static_cast<double>(width_1000(glyphs)) * item.size_pt / 1000;
  double x = item.x_pt;
  if (item.align == text_align::right)
    x -= width;
  else if (item.align == text_align::center)
    x -= width / 2;
  emit_line(content, glyphs, clusters, x, item.y_pt, item.size_pt, item);
}

void typeset_fitted(const text_item& item, std::span<const placed_glyph> glyphs,
                    std::span<const cluster> clusters, std::vector<size_t>& ends,
                    pdf_writer& content) {
  // Shrunk first, on one line, down to the smallest size; only then wrapped: a value kept on one
  // line is read, and extracted by pdftotext, as one string.
  for (int pass = 0; pass < 2; ++pass) {
    for (double size = item.size_pt; size >= fit_size_min_pt; size -= fit_step_pt) {
      auto fits = static_cast<size_t>(item.box_height_pt / (size * line_spacing_em));
      auto lines_max = pass == 0 ? size_t{1} : fits;
      if (!wrap(glyphs, item.box_width_pt * 1000 / size, std::max<size_t>(lines_max, 1), ends))
        continue;
      double block = static_cast<double>(ends.size()) * size * line_spacing_em;
      double top = item.y_pt + item.box_height_pt / 2 + block / 2;
      double y = top - size * (line_spacing_em - 1) / 2 - size * ascent_em;
      size_t begin = 0;
      for (size_t end : ends) {
        emit_line(content, glyphs.subspan(begin, end - begin),
                  clusters.subspan(begin, end - begin), item.x_pt, y, size, item);
        y -= size * line_spacing_em;
        begin = end;
      }
      return;
    }
  }
  throw std::length_error(std::string{item.field} + ": too long to fit its box");
}

} // namespace

void typeset(const text_item& item, glyph_source& source, typeset_scratch& scratch,
             pdf_writer& content) {
  decode_clusters(item.text, scratch.clusters);
  if (scratch.clusters.size() > item_clusters_max)
    throw std::length_error(std::string{item.field} + ": too long");
  scratch.glyphs.clear();
  for (const auto& c : scratch.clusters)
    scratch.glyphs.push_back(source.resolve(c, item.field));
  if (item.box_width_pt > 0)
    typeset_fitted(item, scratch.glyphs, scratch.clusters, scratch.line_ends, content);
  else
    typeset_single(item, scratch.glyphs, scratch.clusters, content);
}

} // namespace kofu::certificate
