#include "certificate/certificate.hpp"

#include <array>
#include <optional>
#include <stdexcept>

#include "certificate/deflater.hpp"
#include "certificate/font_set.hpp"
#include "certificate/page_layout.hpp"
#include "certificate/pdf_writer.hpp"
#include "certificate/person_font.hpp"
#include "certificate/typesetter.hpp"
#include "messages/secure_bytes.hpp"

namespace kofu::certificate {

namespace {

/// Compression of per-certificate streams (content, person fonts: a few KB): none. Level 1 cost
/// 40–50 µs of a ~120 µs render under load (libdeflate's set-up per stream) to save 2–3 KB of a
/// ~60 KB file whose bulk, the static font, is compressed once at start; sending those bytes over
/// TLS costs a few µs. Measured with bench/certificate/bench_render (docs/CERTIFICATE.md).
constexpr int person_deflate_level = 0;

/// Bytes a certificate PDF is expected to stay under (certificate.md: under 100 KB).
constexpr size_t pdf_bytes_expected = 100 * 1024;

/// Bytes of the document ID taken from the SHA-256 of the content (PDF uses 16).
constexpr size_t document_id_bytes = 16;

const std::string& info_dictionary() {
  // Nothing about the server, the operator or the time: only what the document is.
  static const std::string info = "<</Title" + pdf_text_string("所得・課税証明書") + ">>";
  return info;
}

} // namespace

unrenderable_text::unrenderable_text(std::string field, std::string code_points)
  : std::runtime_error(field + ": " + code_points),
    field_(std::move(field)),
    code_points_(std::move(code_points)) {
  // nop
}

std::shared_ptr<const font_set> load_fonts(const layout_config& config) {
  validate_layout_config(config);
  return std::make_shared<const font_set>(config);
}

struct renderer::state : glyph_source {
  explicit state(std::shared_ptr<const font_set> f)
    : fonts(std::move(f)),
      body(fonts->body(), font_slot::body),
      fallback(fonts->fallback(), font_slot::fallback),
      zip(person_deflate_level) {
    out.reserve(pdf_bytes_expected);
  }

  /// The static font first, then the body font, then the fallback (IPAmj明朝).
  placed_glyph resolve(cluster c, std::string_view field) override {
    // U+FFFD stands for invalid UTF-8: printing a font's replacement glyph would be a wrong glyph.
    if (c.base == replacement_character)
      throw unrenderable_text(std::string{field}, describe(c));
    if (c.selector == 0) {
      if (auto g = fonts->fixed_glyph(c.base))
        return *g;
      if (auto g = fonts->body().nominal_glyph(c.base))
        return body.add(c, *g);
      if (auto g = fonts->fallback().nominal_glyph(c.base))
        return fallback.add(c, *g);
    } else {
      if (auto g = fonts->body().variation_glyph(c.base, c.selector))
        return body.add(c, *g);
      if (auto g = fonts->fallback().variation_glyph(c.base, c.selector))
        return fallback.add(c, *g);
    }
    throw unrenderable_text(std::string{field}, describe(c));
  }

  /// The file, with nothing of it left behind in this renderer (forget()), also on an error.
  std::vector<uint8_t> render(const certificate_input& in, bool specimen);
  std::vector<uint8_t> write_file(const certificate_input& in, bool specimen);
  void typeset_person(const certificate_input& in);
  /// Wipes everything of the last certificate from the reused buffers: its texts, content stream,
  /// person fonts, glyph runs and file. A render worker idles between requests; what it holds
  /// then is nobody's personal data (data-lifecycle.md: destroyed as soon as it is sent).
  void forget() noexcept;
  void write_page(pdf_writer& w, uint32_t body_first, uint32_t fallback_first);

  std::shared_ptr<const font_set> fonts;
  person_font body;
  person_font fallback;
  deflater zip;
  typeset_scratch scratch;
  std::vector<text_item> items;
  std::string content;
  std::string packed;
  std::string font_scratch;
  std::string out;
  /// The SHA-256 state after the constant start of a file (header and static objects), without
  /// and with the specimen mark; taken at the first render of each.
  std::array<std::optional<sha256_state>, 2> prefix_hash;
  digest file_digest{};
};

void renderer::state::typeset_person(const certificate_input& in) {
  make_person_items(in, items);
  body.clear();
  fallback.clear();
  content.clear();
  pdf_writer w{content, pdf_writer::append};
  for (const auto& item : items)
    typeset(item, *this, scratch, w);
}

void renderer::state::write_page(pdf_writer& w, uint32_t body_first, uint32_t fallback_first) {
  w.begin_object(object_number::page);
  w.raw("<</Type/Page/Parent ");
  w.reference(object_number::pages);
  w.raw("/MediaBox[0 0 595.28 841.89]/Resources<</Font<</F0 ");
  w.reference(object_number::fixed_font);
  if (!body.empty()) {
    w.raw("/F1 ");
    w.reference(body_first);
  }
  if (!fallback.empty()) {
    w.raw("/F2 ");
    w.reference(fallback_first);
  }
  w.raw(">>/XObject<</Im0 ");
  w.reference(object_number::seal);
  w.raw(">>/ProcSet[/PDF/Text/ImageC]>>/Contents[");
  w.reference(object_number::static_content);
  w.raw(" ");
  w.reference(object_number::person_content);
  w.raw("]>>");
  w.end_object();
}

std::vector<uint8_t> renderer::state::render(const certificate_input& in, bool specimen) {
  try {
    auto file = write_file(in, specimen);
    forget();
    return file;
  } catch (...) {
    forget();
    throw;
  }
}

void renderer::state::forget() noexcept {
  for (auto& item : items)
    wipe(item.text);
  items.clear();
  body.clear();
  fallback.clear();
  wipe(scratch.clusters);
  wipe(scratch.glyphs);
  wipe(scratch.line_ends);
  wipe(content);
  wipe(packed);
  wipe(font_scratch);
  wipe(out);
}

std::vector<uint8_t> renderer::state::write_file(const certificate_input& in, bool specimen) {
  typeset_person(in);
  pdf_writer w{out};
  w.header();
  // The static objects first, copied as serialised at start: the file's first bytes are the same
  // in every certificate, and their hash is taken once (below).
  w.splice(fonts->shared_objects().bytes, fonts->shared_objects().offsets);
  w.splice(fonts->static_content(specimen).bytes, fonts->static_content(specimen).offsets);
  const size_t prefix_end = out.size();
  w.begin_object(object_number::catalog);
  w.raw("<</Type/Catalog/Pages 2 0 R/Lang(ja-JP)>>");
  w.end_object();
  w.begin_object(object_number::pages);
  w.raw("<</Type/Pages/Kids[3 0 R]/Count 1>>");
  w.end_object();
  const uint32_t body_first = object_number::first_person_font;
  const uint32_t fallback_first = body_first + (body.empty() ? 0 : cid_font_objects_max);
  write_page(w, body_first, fallback_first);
  w.begin_object(object_number::info);
  w.raw(info_dictionary());
  w.end_object();
  zip.write_stream(w, object_number::person_content, "", content, packed);
  uint32_t objects = fallback_first;
  if (!body.empty())
    body.write(w, body_first, zip, font_scratch);
  if (!fallback.empty())
    objects += fallback.write(w, fallback_first, zip, font_scratch);
  auto& prefix = prefix_hash[specimen ? 1 : 0];
  if (!prefix) {
    prefix.emplace();
    prefix->update(std::string_view{out}.substr(0, prefix_end));
  }
  // /ID: SHA-256 of every byte before the cross-reference table. Then the same state goes on
  // over the table and the trailer: the digest of the whole file, for the caller (Repr-Digest,
  // the audit entry), with the prefix hashed once per renderer and the rest once per file.
  sha256_state h{*prefix};
  h.update(std::string_view{out}.substr(prefix_end));
  const digest id = h.value();
  const size_t tail_begin = out.size();
  w.finish(objects, object_number::catalog, object_number::info,
           to_hex({reinterpret_cast<const char*>(id.data()), document_id_bytes}));
  h.update(std::string_view{out}.substr(tail_begin));
  file_digest = h.value();
  const auto* bytes = reinterpret_cast<const uint8_t*>(out.data());
  return std::vector<uint8_t>(bytes, bytes + out.size()); // one memmove, not a per-byte loop
}

renderer::renderer(std::shared_ptr<const font_set> fonts) {
  if (!fonts)
    throw std::invalid_argument("renderer: no font_set");
  state_ = std::make_unique<state>(std::move(fonts));
}

renderer::~renderer() = default;
renderer::renderer(renderer&&) noexcept = default;
renderer& renderer::operator=(renderer&&) noexcept = default;

std::vector<uint8_t> renderer::render(const certificate_input& in) {
  return state_->render(in, state_->fonts->specimen());
}

const std::array<unsigned char, 32>& renderer::last_sha256() const {
  return state_->file_digest;
}

size_t renderer::held_bytes() const {
  const auto& s = *state_;
  size_t n = s.out.size() + s.content.size() + s.packed.size() + s.font_scratch.size()
             + s.scratch.clusters.size() + s.scratch.glyphs.size() + s.scratch.line_ends.size()
             + (s.body.empty() ? 0 : 1) + (s.fallback.empty() ? 0 : 1);
  for (const auto& item : s.items)
    n += item.text.size() + 1;
  return n;
}

std::vector<uint8_t> renderer::render_sample() {
  return state_->render(sample_input(), true);
}

} // namespace kofu::certificate
