#include "certificate/podofo_baseline.hpp"

#include <cmath>
#include <stdexcept>

#include <podofo/podofo.h>

#include "certificate/page_layout.hpp"

namespace kofu::certificate {

namespace {

/// Identity encoding over the BMP: the widest PoDoFo 0.9.8's CID fonts go (16-bit codes).
constexpr int identity_last_code = 0xFFFF;

void draw(PoDoFo::PdfPainter& painter, PoDoFo::PdfFont& font, const text_item& item) {
  PoDoFo::PdfString text{reinterpret_cast<const PoDoFo::pdf_utf8*>(item.text.c_str())};
  font.SetFontSize(static_cast<float>(item.size_pt));
  painter.SetFont(&font);
  double width = font.GetFontMetrics()->StringWidth(text);
  double x = item.x_pt;
  if (item.align == text_align::right)
    x -= width;
  else if (item.align == text_align::center)
    x -= width / 2;
  double y = item.box_width_pt > 0 ? item.y_pt + item.box_height_pt / 2 - item.size_pt * 0.35
                                   : item.y_pt;
  if (item.angle_deg == 0) {
    painter.DrawText(x, y, text);
    return;
  }
  double r = item.angle_deg * 3.14159265358979323846 / 180;
  painter.Save();
  painter.SetGray(item.gray);
  painter.SetTransformationMatrix(std::cos(r), std::sin(r), -std::sin(r), std::cos(r), x, y);
  painter.DrawText(0, 0, text);
  painter.Restore();
}

} // namespace

podofo_baseline::podofo_baseline(layout_config config) : config_(std::move(config)) {
  // nop
}

std::vector<uint8_t> podofo_baseline::render(const certificate_input& in) {
  using namespace PoDoFo;
  PdfMemDocument doc;
  PdfPage* page = doc.CreatePage(PdfPage::CreateStandardPageSize(ePdfPageSize_A4));
  // The document owns the font; the encoding is deleted with it (bAutoDelete).
  auto* encoding = new PdfIdentityEncoding(0, identity_last_code, true);
  PdfFont* font = doc.CreateFontSubset("IPAexMincho", false, false, false, encoding,
                                       config_.body_font_path.c_str());
  if (font == nullptr)
    throw std::runtime_error("PoDoFo cannot load " + config_.body_font_path);
  PdfImage seal{&doc};
  seal.LoadFromPng(config_.seal_png_path.c_str());

  static_page fixed = make_static_page(config_);
  std::vector<text_item> items;
  make_person_items(in, items);

  PdfPainter painter;
  painter.SetPage(page);
  if (config_.specimen)
    draw(painter, *font, fixed.specimen);
  painter.SetStrokeWidth(0.6);
  for (const auto& r : fixed.frames)
    painter.Rectangle(r.x, r.y, r.w, r.h);
  painter.Stroke();
  for (const auto& t : fixed.texts)
    draw(painter, *font, t);
  for (const auto& t : items)
    draw(painter, *font, t);
  painter.DrawImage(fixed.seal.x, fixed.seal.y, &seal, fixed.seal.w / seal.GetWidth(),
                    fixed.seal.h / seal.GetHeight());
  painter.FinishPage();

  PdfRefCountedBuffer buffer;
  PdfOutputDevice device{&buffer};
  doc.Write(&device);
  const auto* bytes = reinterpret_cast<const uint8_t*>(buffer.GetBuffer());
  return std::vector<uint8_t>(bytes, bytes + device.GetLength());
}

} // namespace kofu::certificate
