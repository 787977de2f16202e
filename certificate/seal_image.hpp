#pragma once

// The mayor's seal: a PNG from the configuration, decoded once at start into the two image
// XObjects the page draws (colour and, for transparency, its soft mask).

#include <cstdint>
#include <string>

namespace kofu::certificate {

/// A seal larger than this is refused: it is printed about 2 cm wide, 1024 px is 1300 dpi.
inline constexpr uint32_t seal_side_px_max = 1024;

struct seal_image {
  uint32_t width_px = 0;
  uint32_t height_px = 0;
  std::string rgb;    // 3 bytes per pixel, rows top to bottom
  std::string alpha;  // 1 byte per pixel, 255 where the PNG has no alpha
};

/// Reads an 8/16-bit PNG of any colour type; throws std::runtime_error naming the file.
seal_image read_seal_png(const std::string& path);

/// Writes a seal as an RGBA PNG (used to generate the demo seal); throws std::runtime_error.
void write_rgba_png(const std::string& path, uint32_t width_px, uint32_t height_px,
                    const std::string& rgba);

} // namespace kofu::certificate
