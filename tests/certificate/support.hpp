#pragma once

// Shared fixtures of the certificate tests: one font_set for the whole run (loading IPAmj明朝 takes
// a while), temporary files, and running poppler's tools.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "certificate/certificate.hpp"

namespace kofu::certificate::test {

layout_config test_config();

/// Loaded once, shared by all tests (as the render workers share it).
std::shared_ptr<const font_set> shared_fonts();

/// A path in this process's temporary directory.
std::string temp_path(const std::string& name);

void write_file(const std::string& path, const std::vector<uint8_t>& bytes);

/// Runs a shell command and returns its standard output; fails the test on a non-zero status.
std::string run(const std::string& command);

/// pdftotext of a PDF, UTF-8.
std::string pdf_text(const std::vector<uint8_t>& pdf, bool layout);
/// Pixels of page 1 drawn in the specimen mark's gray (0.82), rendered by pdftoppm at 18 dpi
/// without anti-aliasing (text and lines are then pure black or white).
size_t specimen_gray_pixels(const std::vector<uint8_t>& pdf);

/// A certificate with every field set, to exercise the page.
certificate_input full_input();

} // namespace kofu::certificate::test
