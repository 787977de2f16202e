#include "certificate/seal_image.hpp"

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <vector>

#include <png.h>

namespace kofu::certificate {

namespace {

struct file_closer {
  void operator()(FILE* f) const { std::fclose(f); }
};
using file_ptr = std::unique_ptr<FILE, file_closer>;

[[noreturn]] void png_failed(png_structp png, png_const_charp message) {
  // libpng requires that the error handler does not return; an exception unwinds through C
  // frames that hold no resources of ours (the reader is destroyed by the caller's guard).
  (void)png;
  throw std::runtime_error(message);
}

void png_warned(png_structp, png_const_charp) {
  // nop: warnings (e.g. an unknown chunk) do not change the decoded pixels
}

struct read_guard {
  png_structp png = nullptr;
  png_infop info = nullptr;
  ~read_guard() { png_destroy_read_struct(&png, &info, nullptr); }
};

seal_image decode(FILE* file) {
  read_guard g;
  g.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, nullptr, png_failed, png_warned);
  g.info = png_create_info_struct(g.png);
  if (g.png == nullptr || g.info == nullptr)
    throw std::runtime_error("libpng initialisation failed");
  png_set_user_limits(g.png, seal_side_px_max, seal_side_px_max);
  png_init_io(g.png, file);
  png_read_info(g.png, g.info);
  // Normalise every colour type to 8-bit RGBA.
  png_set_expand(g.png);
  png_set_strip_16(g.png);
  png_set_gray_to_rgb(g.png);
  png_set_filler(g.png, 0xFF, PNG_FILLER_AFTER);
  png_set_interlace_handling(g.png);
  png_read_update_info(g.png, g.info);
  seal_image out;
  out.width_px = png_get_image_width(g.png, g.info);
  out.height_px = png_get_image_height(g.png, g.info);
  std::vector<png_byte> pixels(static_cast<size_t>(out.width_px) * out.height_px * 4);
  std::vector<png_bytep> rows(out.height_px);
  for (uint32_t y = 0; y < out.height_px; ++y)
    rows[y] = pixels.data() + static_cast<size_t>(y) * out.width_px * 4;
  png_read_image(g.png, rows.data());
  png_read_end(g.png, nullptr);
  size_t count = static_cast<size_t>(out.width_px) * out.height_px;
  out.rgb.resize(count * 3);
  out.alpha.resize(count);
  for (size_t i = 0; i < count; ++i) {
    for (size_t c = 0; c < 3; ++c)
      out.rgb[3 * i + c] = static_cast<char>(pixels[4 * i + c]);
    out.alpha[i] = static_cast<char>(pixels[4 * i + 3]);
  }
  return out;
}

struct write_guard {
  png_structp png = nullptr;
  png_infop info = nullptr;
  ~write_guard() { png_destroy_write_struct(&png, &info); }
};

} // namespace

seal_image read_seal_png(const std::string& path) {
  file_ptr file{std::fopen(path.c_str(), "rb")};
  if (!file)
    throw std::runtime_error("cannot open seal image " + path);
  try {
    return decode(file.get());
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot read seal image " + path + ": " + e.what());
  }
}

void write_rgba_png(const std::string& path, uint32_t width_px, uint32_t height_px,
                    const std::string& rgba) {
  if (rgba.size() != static_cast<size_t>(width_px) * height_px * 4)
    throw std::invalid_argument("write_rgba_png: wrong pixel count");
  file_ptr file{std::fopen(path.c_str(), "wb")};
  if (!file)
    throw std::runtime_error("cannot create " + path);
  write_guard g;
  g.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, png_failed, png_warned);
  g.info = png_create_info_struct(g.png);
  if (g.png == nullptr || g.info == nullptr)
    throw std::runtime_error("libpng initialisation failed");
  png_init_io(g.png, file.get());
  png_set_IHDR(g.png, g.info, width_px, height_px, 8, PNG_COLOR_TYPE_RGB_ALPHA, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(g.png, g.info);
  for (uint32_t y = 0; y < height_px; ++y)
    png_write_row(g.png, reinterpret_cast<png_const_bytep>(rgba.data())
                           + static_cast<size_t>(y) * width_px * 4);
  png_write_end(g.png, nullptr);
}

} // namespace kofu::certificate
