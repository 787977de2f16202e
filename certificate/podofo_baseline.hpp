#pragma once

// The baseline the benchmark compares against: the same page drawn with PoDoFo 0.9.8's own
// machinery (PdfMemDocument, PdfPainter, CreateFontSubset, PdfImage::LoadFromPng). Correct only for
// BMP text (PoDoFo 0.9.8's CID layer is 16-bit) and ~80 ms a page, which is why the renderer does
// not use it. Not thread-safe: one instance per thread.

#include <cstdint>
#include <vector>

#include "certificate/certificate.hpp"

namespace kofu::certificate {

class podofo_baseline {
public:
  explicit podofo_baseline(layout_config config);

  std::vector<uint8_t> render(const certificate_input& in);

private:
  layout_config config_;
};

} // namespace kofu::certificate
