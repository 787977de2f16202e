#include <catch2/catch.hpp>

#include <charconv>
#include <string>

#include <podofo/podofo.h>

#include "certificate/certificate.hpp"
#include "support.hpp"

using namespace kofu::certificate;
using namespace kofu::certificate::test;

namespace {

/// Objects a certificate has at most (page objects, static part, two person fonts).
constexpr size_t objects_max = 64;

size_t number_at(const std::string& s, size_t pos) {
  size_t v = 0;
  std::from_chars(s.data() + pos, s.data() + s.size(), v);
  return v;
}

} // namespace

TEST_CASE("structure: every xref entry points at its object", "[certificate]") {
  auto pdf = renderer{shared_fonts()}.render(full_input());
  std::string s{pdf.begin(), pdf.end()};
  size_t startxref = s.rfind("startxref\n");
  REQUIRE(startxref != std::string::npos);
  size_t xref = number_at(s, startxref + 10);
  REQUIRE(s.compare(xref, 7, "xref\n0 ") == 0);
  size_t count = number_at(s, xref + 7);
  REQUIRE(count > 1);
  REQUIRE(count <= objects_max);
  size_t entries = s.find('\n', xref + 7) + 1;
  for (size_t n = 1; n < count; ++n) {
    size_t entry = entries + 20 * n; // each entry is exactly 20 bytes
    REQUIRE(s.compare(entry + 10, 10, " 00000 n\r\n") == 0);
    size_t offset = number_at(s, entry);
    INFO("object " << n);
    CHECK(s.compare(offset, std::to_string(n).size() + 6, std::to_string(n) + " 0 obj") == 0);
  }
}

TEST_CASE("structure: PoDoFo reads the file back", "[certificate]") {
  auto pdf = renderer{shared_fonts()}.render(full_input());
  PoDoFo::PdfError::EnableDebug(false);   // PoDoFo prints the trailer it parses otherwise
  PoDoFo::PdfError::EnableLogging(false);
  PoDoFo::PdfMemDocument doc;
  doc.LoadFromBuffer(reinterpret_cast<const char*>(pdf.data()), static_cast<long>(pdf.size()));
  REQUIRE(doc.GetPageCount() == 1);
  PoDoFo::PdfPage* page = doc.GetPage(0);
  CHECK(page->GetMediaBox().GetWidth() == Approx(595.28));
  CHECK(page->GetMediaBox().GetHeight() == Approx(841.89));
  CHECK_FALSE(doc.GetInfo()->GetObject()->GetDictionary().HasKey("CreationDate"));
}
