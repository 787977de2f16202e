#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>

#include "certificate/certificate.hpp"
#include "certificate/seal_image.hpp"
#include "support.hpp"

using namespace kofu::certificate;
using namespace kofu::certificate::test;

namespace {

/// Tolerances of the comparison with the reference image (8-bit channels). Anti-aliasing drift
/// between poppler/FreeType builds moves many samples a little (the mean); a changed character
/// moves a few dozen samples a lot (one character at 50 dpi: ~60 of 726,570 samples).
constexpr double mean_difference_max = 0.3;
constexpr double changed_samples_max_ratio = 0.000015;
constexpr int changed_sample_threshold = 64;

std::string reference_path() {
  return std::string{KOFU_SOURCE_DIR} + "/tests/certificate/reference/sample.png";
}

/// Rasterises a PDF at 50 dpi with poppler, as the reference was made; returns the PNG's path.
std::string rasterise(const std::vector<uint8_t>& pdf, const std::string& name) {
  std::string pdf_path = temp_path(name + ".pdf");
  write_file(pdf_path, pdf);
  std::string base = temp_path(name);
  run("pdftoppm -r 50 -png -singlefile " + pdf_path + " " + base);
  return base + ".png";
}

struct difference {
  double mean = 0;
  double changed_ratio = 0;

  bool within_tolerance() const {
    return mean <= mean_difference_max && changed_ratio <= changed_samples_max_ratio;
  }
};

difference compare(const std::string& png, const std::string& reference) {
  seal_image actual = read_seal_png(png);
  seal_image expected = read_seal_png(reference);
  REQUIRE(actual.width_px == expected.width_px);
  REQUIRE(actual.height_px == expected.height_px);
  double total = 0;
  size_t changed = 0;
  for (size_t i = 0; i < actual.rgb.size(); ++i) {
    int d = std::abs(static_cast<unsigned char>(actual.rgb[i])
                     - static_cast<unsigned char>(expected.rgb[i]));
    total += d;
    changed += d > changed_sample_threshold ? 1 : 0;
  }
  auto samples = static_cast<double>(actual.rgb.size());
  return {total / samples, static_cast<double>(changed) / samples};
}

} // namespace

// The sample rasterised at 50 dpi must look like the committed reference. After an intended
// change of the page, regenerate it (docs/CERTIFICATE.md):
//   KOFU_UPDATE_REFERENCE=1 build-cert/tests/test_certificate "[visual]"
TEST_CASE("visual: the sample looks like the reference image", "[certificate][visual]") {
  std::string png = rasterise(renderer{shared_fonts()}.render_sample(), "visual");
  if (std::getenv("KOFU_UPDATE_REFERENCE") != nullptr) {
    std::filesystem::copy_file(png, reference_path(),
                               std::filesystem::copy_options::overwrite_existing);
    WARN("reference image regenerated: " << reference_path());
  }
  auto d = compare(png, reference_path());
  INFO("mean difference " << d.mean << ", changed ratio " << d.changed_ratio);
  CHECK(d.within_tolerance());
}

TEST_CASE("visual: the comparison notices one changed character", "[certificate][visual]") {
  auto in = sample_input();
  in.resident.name = "見本　花江";
  std::string png = rasterise(renderer{shared_fonts()}.render(in), "visual-changed");
  auto d = compare(png, reference_path());
  INFO("mean difference " << d.mean << ", changed ratio " << d.changed_ratio);
  CHECK_FALSE(d.within_tolerance());
}
