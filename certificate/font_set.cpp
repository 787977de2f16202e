#include "certificate/font_set.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <string_view>

#include <openssl/evp.h>

#include "certificate/cid_font.hpp"
#include "certificate/deflater.hpp"
#include "certificate/page_layout.hpp"
#include "certificate/seal_image.hpp"

namespace kofu::certificate {

namespace {

/// Compression of start-up objects: paid once, so the best ratio libdeflate offers.
constexpr int static_deflate_level = 12;

/// Width of the table rules, in hundredths of a point.
constexpr int64_t frame_line_width_hpt = 60;

/// The static font may hold at most this many glyphs (static texts are ~250 characters).
constexpr size_t fixed_glyphs_max = 2048;

/// Resolves static texts: only the static font may draw them.
class fixed_source : public glyph_source {
public:
  explicit fixed_source(const font_set& fonts) : fonts_(fonts) {}

  placed_glyph resolve(cluster c, std::string_view field) override {
    if (c.selector == 0)
      if (auto g = fonts_.fixed_glyph(c.base))
        return *g;
    throw std::runtime_error("configured " + std::string{field}
                             + " holds a character the body font cannot draw: " + describe(c));
  }

private:
  const font_set& fonts_;
};

void collect(std::string_view text, std::vector<char32_t>& out) {
  for (char32_t cp : decode_utf8(text))
    out.push_back(cp);
}

void write_seal(pdf_writer& w, const seal_image& seal, deflater& zip) {
  std::string packed;
  auto dims = "/Type/XObject/Subtype/Image/Width " + std::to_string(seal.width_px) + "/Height "
              + std::to_string(seal.height_px) + "/BitsPerComponent 8/Filter/FlateDecode";
  zip.compress(seal.rgb, packed);
  w.stream_object(object_number::seal,
                  dims + "/ColorSpace/DeviceRGB/SMask " + std::to_string(object_number::seal_mask)
                    + " 0 R",
                  packed);
  zip.compress(seal.alpha, packed);
  w.stream_object(object_number::seal_mask, dims + "/ColorSpace/DeviceGray", packed);
}

void write_frames(pdf_writer& w, const static_page& page) {
  auto h = [](double pt) { return static_cast<int64_t>(pt * 100 + (pt >= 0 ? 0.5 : -0.5)); };
  w.raw("q ");
  w.hundredths(frame_line_width_hpt);
  w.raw(" w 0 G\n");
  for (const auto& r : page.frames) {
    for (double v : {r.x, r.y, r.w, r.h}) {
      w.hundredths(h(v));
      w.raw(" ");
    }
    w.raw("re\n");
  }
  w.raw("S Q\n");
}

void write_seal_placement(pdf_writer& w, const rect_pt& r) {
  auto h = [](double pt) { return static_cast<int64_t>(pt * 100 + 0.5); };
  w.raw("q ");
  w.hundredths(h(r.w));
  w.raw(" 0 0 ");
  w.hundredths(h(r.h));
  w.raw(" ");
  w.hundredths(h(r.x));
  w.raw(" ");
  w.hundredths(h(r.y));
  w.raw(" cm/Im0 Do Q\n");
}

/// The configured strings share one line with the seal: longer ones would run off the page.
constexpr size_t mayor_line_chars_max = 24;

constexpr std::array<std::string_view, 4> prefecture_tax_words = {"都民税", "道民税", "府民税",
                                                                   "県民税"};

} // namespace

void validate_layout_config(const layout_config& config) {
  if (std::find(prefecture_tax_words.begin(), prefecture_tax_words.end(),
                config.prefecture_tax_word)
      == prefecture_tax_words.end())
    throw std::runtime_error("prefecture_tax_word must be 都民税, 道民税, 府民税 or 県民税");
  if (config.city_name.empty() || config.mayor_name.empty())
    throw std::runtime_error("city_name and mayor_name must be set");
  if (decode_utf8(config.city_name).size() + decode_utf8(config.mayor_name).size()
      > mayor_line_chars_max)
    throw std::runtime_error("city_name and mayor_name are too long for the mayor's line");
}

void sha256_state::ctx_deleter::operator()(void* ctx) const noexcept {
  EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx));
}

sha256_state::sha256_state() : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_ || EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_.get()), EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 failed");
}

sha256_state::~sha256_state() = default;

sha256_state::sha256_state(const sha256_state& other) : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_ || EVP_MD_CTX_copy_ex(static_cast<EVP_MD_CTX*>(ctx_.get()), static_cast<EVP_MD_CTX*>(other.ctx_.get())) != 1)
    throw std::runtime_error("SHA-256 failed");
}

void sha256_state::update(std::string_view bytes) {
  if (EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_.get()), bytes.data(), bytes.size()) != 1)
    throw std::runtime_error("SHA-256 failed");
}

digest sha256_state::value() const {
  sha256_state copy{*this};
  digest out{};
  unsigned int n = 0;
  if (EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(copy.ctx_.get()), out.data(), &n) != 1)
    throw std::runtime_error("SHA-256 failed");
  return out;
}

font_set::font_set(const layout_config& config)
  : body_(std::make_unique<font_face>(config.body_font_path)),
    fallback_(std::make_unique<font_face>(config.fallback_font_path)),
    specimen_(config.specimen) {
  static_page page = make_static_page(config);
  deflater zip{static_deflate_level};
  pdf_writer w{shared_.bytes, pdf_writer::append};
  build_fixed_font(page, w, zip);
  write_seal(w, read_seal_png(config.seal_png_path), zip);
  shared_.offsets = w.offsets();
  build_static_content(page, zip);
}

std::optional<placed_glyph> font_set::fixed_glyph(char32_t cp) const {
  auto it = fixed_.find(cp);
  if (it == fixed_.end())
    return std::nullopt;
  return it->second;
}

void font_set::build_fixed_font(const static_page& page, pdf_writer& w, deflater& zip) {
  std::vector<char32_t> chars;
  for (const auto& t : page.texts)
    collect(t.text, chars);
  collect(page.specimen.text, chars);
  collect(common_characters(), chars);
  // One character per glyph: a glyph reached from two characters would need two ToUnicode
  // entries for one CID, so the second character is left to the per-certificate font.
  std::vector<glyph_id> glyphs;
  std::vector<char32_t> owners;
  for (char32_t cp : chars) {
    auto g = body_->nominal_glyph(cp);
    if (!g || std::find(owners.begin(), owners.end(), cp) != owners.end()
        || std::find(glyphs.begin(), glyphs.end(), *g) != glyphs.end())
      continue;
    glyphs.push_back(*g);
    owners.push_back(cp);
  }
  if (glyphs.size() > fixed_glyphs_max)
    throw std::runtime_error("static texts need too many glyphs");
  face_subset sub = body_->subset(glyphs);
  std::vector<cid_entry> entries;
  for (size_t i = 0; i < glyphs.size(); ++i) {
    auto cid = static_cast<uint16_t>(sub.new_ids[i]);
    int32_t width = body_->advance_1000(glyphs[i]);
    entries.push_back({cid, sub.new_ids[i], width, {owners[i], 0}});
    fixed_[owners[i]] = {font_slot::fixed, cid, width};
  }
  std::sort(entries.begin(), entries.end(),
            [](const cid_entry& a, const cid_entry& b) { return a.cid < b.cid; });
  std::string scratch;
  write_cid_font(w, object_number::fixed_font, {body_.get(), sub.font_file, entries, true}, zip,
                 scratch);
}

void font_set::build_static_content(const static_page& page, deflater& zip) {
  fixed_source source{*this};
  typeset_scratch scratch;
  for (bool specimen : {false, true}) {
    std::string stream;
    pdf_writer content{stream, pdf_writer::append};
    if (specimen)
      typeset(page.specimen, source, scratch, content);
    write_frames(content, page);
    for (const auto& t : page.texts)
      typeset(t, source, scratch, content);
    write_seal_placement(content, page.seal);
    std::string packed;
    zip.compress(stream, packed);
    object_bytes& out = content_[specimen ? 1 : 0];
    pdf_writer w{out.bytes, pdf_writer::append};
    w.stream_object(object_number::static_content, "/Filter/FlateDecode", packed);
    out.offsets = w.offsets();
  }
}

} // namespace kofu::certificate
