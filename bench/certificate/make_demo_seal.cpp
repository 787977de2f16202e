// Draws certificate/assets/demo_seal.png: a round red seal reading 見本之印, clearly fictitious.
// Glyph outlines come from IPAex明朝 through HarfBuzz's draw API and are filled here with a small
// non-zero scanline rasteriser (4×4 supersampling), so no image tool is needed.
//
//   ninja -C build-cert make_demo_seal
//   build-cert/bench/certificate/make_demo_seal certificate/assets/demo_seal.png

#include <array>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <hb.h>

#include "certificate/seal_image.hpp"

namespace {

constexpr int side_px = 240;
constexpr int supersample = 4;
constexpr double ring_outer_px = 116;
constexpr double ring_inner_px = 106;
constexpr double glyph_em_px = 84;
constexpr int curve_steps = 8;
constexpr std::array<unsigned char, 3> seal_red = {0xC8, 0x1E, 0x1E};

struct point {
  double x, y;
};
using contour = std::vector<point>;

struct outline {
  std::vector<contour> contours;
  double scale = 1, dx = 0, dy = 0; // font units -> pixels (y down)
  point last{0, 0};

  point map(double x, double y) const { return {dx + x * scale, dy - y * scale}; }
};

void move_to(hb_draw_funcs_t*, void* data, hb_draw_state_t*, float x, float y, void*) {
  auto* o = static_cast<outline*>(data);
  o->contours.emplace_back();
  o->last = o->map(x, y);
  o->contours.back().push_back(o->last);
}

void line_to(hb_draw_funcs_t*, void* data, hb_draw_state_t*, float x, float y, void*) {
  auto* o = static_cast<outline*>(data);
  o->last = o->map(x, y);
  o->contours.back().push_back(o->last);
}

void quadratic_to(hb_draw_funcs_t*, void* data, hb_draw_state_t*, float cx, float cy, float x,
                  float y, void*) {
  auto* o = static_cast<outline*>(data);
  point p0 = o->last, c = o->map(cx, cy), p1 = o->map(x, y);
  for (int i = 1; i <= curve_steps; ++i) {
    double t = static_cast<double>(i) / curve_steps, u = 1 - t;
    o->contours.back().push_back({u * u * p0.x + 2 * u * t * c.x + t * t * p1.x,
                                  u * u * p0.y + 2 * u * t * c.y + t * t * p1.y});
  }
  o->last = p1;
}

void cubic_to(hb_draw_funcs_t*, void* data, hb_draw_state_t*, float c1x, float c1y, float c2x,
              float c2y, float x, float y, void*) {
  auto* o = static_cast<outline*>(data);
  point p0 = o->last, c1 = o->map(c1x, c1y), c2 = o->map(c2x, c2y), p1 = o->map(x, y);
  for (int i = 1; i <= curve_steps; ++i) {
    double t = static_cast<double>(i) / curve_steps, u = 1 - t;
    o->contours.back().push_back(
      {u * u * u * p0.x + 3 * u * u * t * c1.x + 3 * u * t * t * c2.x + t * t * t * p1.x,
       u * u * u * p0.y + 3 * u * u * t * c1.y + 3 * u * t * t * c2.y + t * t * t * p1.y});
  }
  o->last = p1;
}

/// Non-zero winding test of a sample point against all contours.
bool inside(const std::vector<contour>& contours, double x, double y) {
  int winding = 0;
  for (const auto& c : contours)
    for (size_t i = 0; i < c.size(); ++i) {
      point a = c[i], b = c[(i + 1) % c.size()];
      if ((a.y <= y) != (b.y <= y)) {
        double xi = a.x + (y - a.y) * (b.x - a.x) / (b.y - a.y);
        if (xi > x)
          winding += a.y < b.y ? 1 : -1;
      }
    }
  return winding != 0;
}

} // namespace

int main(int argc, char** argv) {
  const char* font_path = "/usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf";
  if (argc < 2) {
    std::fprintf(stderr, "usage: make_demo_seal OUT.png\n");
    return 2;
  }
  hb_blob_t* blob = hb_blob_create_from_file_or_fail(font_path);
  if (blob == nullptr) {
    std::fprintf(stderr, "cannot read %s\n", font_path);
    return 1;
  }
  hb_face_t* face = hb_face_create(blob, 0);
  hb_font_t* font = hb_font_create(face);
  hb_draw_funcs_t* funcs = hb_draw_funcs_create();
  hb_draw_funcs_set_move_to_func(funcs, move_to, nullptr, nullptr);
  hb_draw_funcs_set_line_to_func(funcs, line_to, nullptr, nullptr);
  hb_draw_funcs_set_quadratic_to_func(funcs, quadratic_to, nullptr, nullptr);
  hb_draw_funcs_set_cubic_to_func(funcs, cubic_to, nullptr, nullptr);

  // A Japanese seal reads top to bottom, right column first: 見本 | 之印.
  struct placed {
    char32_t cp;
    double x, y; // top-left of the glyph's em box in pixels
  };
  const double c = side_px / 2.0, g = glyph_em_px;
  const std::array<placed, 4> chars = {{
    {U'見', c + 1, c - g - 2}, {U'本', c + 1, c + 2}, {U'之', c - g - 1, c - g - 2},
    {U'印', c - g - 1, c + 2},
  }};
  outline o;
  o.scale = g / hb_face_get_upem(face);
  for (const auto& p : chars) {
    hb_codepoint_t glyph = 0;
    hb_font_get_nominal_glyph(font, p.cp, &glyph);
    o.dx = p.x;
    o.dy = p.y + g * 0.88; // baseline inside the em box
    hb_font_get_glyph_shape(font, glyph, funcs, &o); // hb_font_draw_glyph from 7.0
  }

  std::string rgba(static_cast<size_t>(side_px) * side_px * 4, '\0');
  for (int y = 0; y < side_px; ++y)
    for (int x = 0; x < side_px; ++x) {
      int hits = 0;
      for (int sy = 0; sy < supersample; ++sy)
        for (int sx = 0; sx < supersample; ++sx) {
          double px = x + (sx + 0.5) / supersample, py = y + (sy + 0.5) / supersample;
          double r = std::hypot(px - c, py - c);
          if ((r <= ring_outer_px && r >= ring_inner_px) || inside(o.contours, px, py))
            ++hits;
        }
      size_t i = (static_cast<size_t>(y) * side_px + x) * 4;
      for (size_t k = 0; k < 3; ++k)
        rgba[i + k] = static_cast<char>(seal_red[k]);
      rgba[i + 3] = static_cast<char>(hits * 255 / (supersample * supersample));
    }
  kofu::certificate::write_rgba_png(argv[1], side_px, side_px, rgba);
  hb_draw_funcs_destroy(funcs);
  hb_font_destroy(font);
  hb_face_destroy(face);
  hb_blob_destroy(blob);
  return 0;
}
