#include <catch2/catch.hpp>

#include <openssl/evp.h>

#include <array>
#include <string>
#include <thread>
#include <utility>

#include "certificate/certificate.hpp"
#include "support.hpp"

using namespace kofu;
using namespace kofu::certificate;
using namespace kofu::certificate::test;

namespace {

/// certificate.md: under 100 KB for a typical certificate.
constexpr size_t certificate_bytes_max = 100 * 1024;

std::string as_string(const std::vector<uint8_t>& v) {
  return {v.begin(), v.end()};
}

/// pdftotext cannot return blanks as printed (poppler turns U+3000 into word breaks and layout
/// spaces), so both sides are compared without any whitespace; lines stay separate.
std::string without_blanks(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == ' ' || s[i] == '\t' || s[i] == '\f')
      continue;
    if (s.substr(i, 3) == "\u3000") {
      i += 2;
      continue;
    }
    out += s[i];
  }
  return out;
}

bool extracted(const std::string& text, const std::string& value) {
  return text.find(without_blanks(value)) != std::string::npos;
}

std::string pdf_fonts(const std::vector<uint8_t>& pdf) {
  static int counter = 0;
  std::string path = temp_path("fonts-" + std::to_string(++counter) + ".pdf");
  write_file(path, pdf);
  return run("pdffonts " + path);
}

} // namespace

TEST_CASE("render: a PDF under 100 KB", "[certificate]") {
  renderer r{shared_fonts()};
  auto pdf = r.render(full_input());
  CHECK(pdf.size() < certificate_bytes_max);
  auto s = as_string(pdf);
  CHECK(s.rfind("%PDF-1.7", 0) == 0);
  CHECK(s.find("%%EOF") != std::string::npos);
  CHECK(r.render_sample().size() < certificate_bytes_max);
}

TEST_CASE("render: last_sha256 is the SHA-256 of the file just returned", "[certificate]") {
  auto sha256_of = [](const std::vector<uint8_t>& bytes) {
    std::array<unsigned char, 32> out{};
    unsigned int n = 0;
    REQUIRE(EVP_Digest(bytes.data(), bytes.size(), out.data(), &n, EVP_sha256(), nullptr) == 1);
    return out;
  };
  renderer r{shared_fonts()};
  auto in = full_input();
  auto other = in;
  other.resident.name = "𠮷田　葛\U000E0100子"; // the fallback font: another file layout
  other.certificate_number = "20261128-000044";
  // The constant start is hashed at the first render of each kind (with and without the specimen
  // mark) and reused after: each case below runs after others.
  for (int round = 0; round < 2; ++round) {
    auto a = r.render(in);
    CHECK(r.last_sha256() == sha256_of(a));
    auto s = r.render_sample();
    CHECK(r.last_sha256() == sha256_of(s));
    auto b = r.render(other);
    CHECK(r.last_sha256() == sha256_of(b));
    CHECK(sha256_of(a) != sha256_of(b));
  }
}

TEST_CASE("render: nothing of a certificate stays in the renderer after it", "[certificate]") {
  // data-lifecycle.md: a certificate's data is destroyed once it is sent; a render worker keeps
  // its renderer between requests, so the renderer's reused buffers must not keep the last one.
  renderer r{shared_fonts()};
  CHECK(r.held_bytes() == 0);
  auto in = full_input();
  in.resident.name = "𠮷田　葛\U000E0100子"; // both person fonts
  CHECK(r.render(in).size() > 0);
  CHECK(r.held_bytes() == 0);
  CHECK(r.render_sample().size() > 0);
  CHECK(r.held_bytes() == 0);
  in.tax.address_jan1 = "吹田市\uE000"; // fails while the page is typeset
  CHECK_THROWS_AS(r.render(in), unrenderable_text);
  CHECK(r.held_bytes() == 0);
}

TEST_CASE("render: deterministic, byte-identical across renderers and threads", "[certificate]") {
  renderer a{shared_fonts()};
  renderer b{shared_fonts()};
  const auto in = full_input();
  auto first = a.render(in);
  a.render(sample_input()); // state left by another certificate must not leak into the next
  CHECK(a.render(in) == first);
  CHECK(b.render(in) == first);
  std::vector<uint8_t> from_thread;
  std::thread t{[&] { from_thread = renderer{shared_fonts()}.render(in); }};
  t.join();
  CHECK(from_thread == first);

  auto other = in;
  other.certificate_number = "20261128-000043";
  auto second = a.render(other);
  auto id_of = [](const std::vector<uint8_t>& pdf) {
    auto s = as_string(pdf);
    auto at = s.find("/ID[<");
    return at == std::string::npos ? std::string{} : s.substr(at, 38);
  };
  CHECK_FALSE(id_of(first).empty());
  CHECK(id_of(first) != id_of(second)); // the ID follows the content
}

TEST_CASE("render: concurrent renderers give the bytes of a single one", "[certificate]") {
  constexpr int renders_per_thread = 20;
  std::vector<certificate_input> inputs = {sample_input(), full_input()};
  inputs[1].resident.name = "𠮷野　葛\U000E0102";
  std::vector<std::vector<uint8_t>> expected;
  renderer single{shared_fonts()};
  for (const auto& in : inputs)
    expected.push_back(single.render(in));
  std::vector<int> mismatches(inputs.size(), 0);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < inputs.size(); ++t)
    threads.emplace_back([&, t] {
      renderer r{shared_fonts()};
      for (int i = 0; i < renders_per_thread; ++i)
        mismatches[t] += r.render(inputs[t]) == expected[t] ? 0 : 1;
    });
  for (auto& t : threads)
    t.join();
  CHECK(mismatches == std::vector<int>(inputs.size(), 0));
}

TEST_CASE("render: nothing about the server, the time or the tool in the file", "[certificate]") {
  auto s = as_string(renderer{shared_fonts()}.render(full_input()));
  for (const char* word : {"/Producer", "/Creator", "/CreationDate", "/ModDate", "PoDoFo",
                           "HarfBuzz", "kofu", "/Metadata"})
    CHECK(s.find(word) == std::string::npos);
}

TEST_CASE("render: pdftotext returns every printed value", "[certificate]") {
  const auto in = full_input();
  auto text = without_blanks(pdf_text(renderer{shared_fonts()}.render(in), true));
  CHECK(extracted(text, "令和7年度　所得・課税証明書"));
  CHECK(extracted(text, "（令和6年中の所得）"));
  CHECK(extracted(text, in.resident.name)); // 𠮷 and 葛 U+E0100 as the full sequences
  CHECK(text.find("\U00020BB7") != std::string::npos);
  CHECK(text.find("葛\U000E0100") != std::string::npos);
  CHECK(extracted(text, in.resident.name_kana));
  CHECK(extracted(text, in.tax.address_jan1));
  CHECK(extracted(text, "平成元年1月8日"));
  CHECK(extracted(text, "令和8年11月28日"));
  CHECK(extracted(text, in.certificate_number));
  for (auto yen : in.tax.amounts_yen)
    CHECK(extracted(text, format_yen(yen)));
  for (const char* label :
       {"住所", "氏名", "フリガナ", "生年月日", "給与収入", "公的年金等に係る雑所得", "総所得金額等",
        "小規模企業共済等掛金控除", "所得控除合計", "控除対象配偶者", "扶養親族の数", "16歳未満",
        "障害者の数", "課税標準額", "市民税", "府民税", "所得割額", "均等割額", "森林環境税",
        "年税額", "上記のとおり証明します。", "吹田市長　吹田　太郎",
        "この証明書はコンビニエンスストア等で交付したものです。"})
    CHECK(extracted(text, label));
  CHECK(extracted(text, "有"));
  CHECK(extracted(text, "4人"));
}

TEST_CASE("render: rare characters pick the font that has them", "[certificate]") {
  renderer r{shared_fonts()};
  auto in = sample_input();
  SECTION("髙, 﨑 and 葛 U+E0100 are in IPAex明朝") {
    in.resident.name = "髙﨑　葛\U000E0100";
    auto pdf = r.render(in);
    CHECK(pdf_fonts(pdf).find("IPAmj") == std::string::npos);
    CHECK(extracted(without_blanks(pdf_text(pdf, true)), in.resident.name));
  }
  SECTION("𠮷 (outside the BMP) and 葛 U+E0102 come from IPAmj明朝") {
    in.resident.name = "𠮷野　葛\U000E0102";
    auto pdf = r.render(in);
    CHECK(pdf_fonts(pdf).find("IPAmjMincho") != std::string::npos);
    CHECK(extracted(without_blanks(pdf_text(pdf, true)), in.resident.name));
  }
  SECTION("葛 and 葛 U+E0100 on one page keep their own text") {
    in.resident.name = "葛\U000E0100西";
    in.tax.address_jan1 = "東京都葛飾区立石五丁目13番1号";
    auto text = without_blanks(pdf_text(r.render(in), true));
    CHECK(extracted(text, in.resident.name));
    CHECK(extracted(text, in.tax.address_jan1));
  }
}

TEST_CASE("render: a character no font can draw is an error naming field and code point",
          "[certificate]") {
  renderer r{shared_fonts()};
  auto in = sample_input();
  in.resident.name = "見本\uE000子"; // private use
  try {
    r.render(in);
    FAIL("rendered a private-use character");
  } catch (const unrenderable_text& e) {
    CHECK(std::string{e.what()} == "name: U+E000");
    CHECK(e.field() == "name");
  }
  in = sample_input();
  in.tax.address_jan1 = "吹田市\u0378"; // unassigned
  CHECK_THROWS_WITH(r.render(in), "address: U+0378");
  in = sample_input();
  in.resident.name_kana = "ミホン\xE3\x83"; // truncated UTF-8
  CHECK_THROWS_WITH(r.render(in), "name_kana: U+FFFD");
  in = sample_input();
  in.resident.name = "見本\U000E0100"; // a selector no font defines for 本
  CHECK_THROWS_AS(r.render(in), unrenderable_text);
  // The renderer is still usable after an error.
  CHECK(r.render(sample_input()).size() > 0);
}

TEST_CASE("render: a dependent shows 0 everywhere and the remark", "[certificate]") {
  auto in = full_input();
  in.tax.declaration = declaration_kind::dependent;
  in.tax.amount(tax_amount::total_tax) = 0;
  auto text = without_blanks(pdf_text(renderer{shared_fonts()}.render(in), true));
  CHECK(extracted(text, "被扶養者として申告されており、所得はありません。"));
  CHECK(extracted(text, "令和7年度　所得・課税（非課税）証明書"));
  CHECK(extracted(text, "0円"));
  for (auto yen : in.tax.amounts_yen)
    if (yen != 0)
      CHECK_FALSE(extracted(text, format_yen(yen)));
}

TEST_CASE("render: non-taxed title when total_tax is 0", "[certificate]") {
  auto in = sample_input();
  for (auto a : tax_amounts)
    in.tax.amount(a) = 0;
  in.tax.amount(tax_amount::total_tax) = 0;
  auto text = without_blanks(pdf_text(renderer{shared_fonts()}.render(in), true));
  CHECK(extracted(text, "令和7年度　所得・課税（非課税）証明書"));
  CHECK_FALSE(extracted(text, "令和7年度　所得・課税証明書"));
}

TEST_CASE("render: refuses a not_filed record and a malformed certificate number",
          "[certificate]") {
  auto in = sample_input();
  in.tax.declaration = declaration_kind::not_filed;
  CHECK_THROWS_AS(renderer{shared_fonts()}.render(in), std::invalid_argument);
  for (const char* number : {"", "20261128000001", "20261128-00001", "2026112８-000001",
                             "20261128-000001 "}) {
    in = sample_input();
    in.certificate_number = number;
    CHECK_THROWS_AS(renderer{shared_fonts()}.render(in), std::invalid_argument);
  }
}

TEST_CASE("render: the largest amounts stay inside their cells", "[certificate]") {
  auto in = full_input();
  for (auto& a : in.tax.amounts_yen)
    a = tax_amount_max_yen;
  auto text = without_blanks(pdf_text(renderer{shared_fonts()}.render(in), true));
  CHECK(extracted(text, "999,999,999,999円"));
}

TEST_CASE("render: long values shrink and wrap inside their box", "[certificate]") {
  auto in = sample_input();
  in.tax.address_jan1.clear();
  for (int i = 0; i < 32; ++i)
    in.tax.address_jan1 += "見本町丁";
  auto pdf = renderer{shared_fonts()}.render(in);
  CHECK(pdf.size() < certificate_bytes_max);
  in.tax.address_jan1 += in.tax.address_jan1 + in.tax.address_jan1; // 384 characters
  CHECK_THROWS_AS(renderer{shared_fonts()}.render(in), std::length_error);
}

TEST_CASE("load_fonts: a missing file is named", "[certificate]") {
  auto config = test_config();
  config.fallback_font_path = "/nonexistent/ipamjm.ttf";
  CHECK_THROWS_WITH(load_fonts(config), Catch::Contains("/nonexistent/ipamjm.ttf"));
  config = test_config();
  config.seal_png_path = "/nonexistent/seal.png";
  CHECK_THROWS_WITH(load_fonts(config), Catch::Contains("/nonexistent/seal.png"));
  config = test_config();
  config.seal_png_path = temp_path("not-a-png.png");
  write_file(config.seal_png_path, {'n', 'o', 't', ' ', 'a', ' ', 'P', 'N', 'G'});
  CHECK_THROWS_WITH(load_fonts(config), Catch::Contains("not-a-png.png"));
  config = test_config();
  config.prefecture_tax_word = "州民税";
  CHECK_THROWS_WITH(load_fonts(config), Catch::Contains("prefecture_tax_word"));
  config = test_config();
  config.mayor_name = "見本\uE000";
  CHECK_THROWS_WITH(load_fonts(config), Catch::Contains("U+E000"));
}

TEST_CASE("render: the specimen mark follows the configuration, the sample always has it",
          "[certificate]") {
  // The mark is drawn in its gray (seen in the rendered page) but is not part of the text:
  // pdftotext returns only the certificate's own strings.
  auto count = [](const std::string& text, std::string_view what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
      ++n;
    return n;
  };
  auto with_mark = renderer{shared_fonts()}.render(full_input());
  auto marked_pixels = specimen_gray_pixels(with_mark);
  CHECK(count(pdf_text(with_mark, false), "見") == 0);
  CHECK(count(pdf_text(with_mark, true), "見") == 0);
  auto config = test_config();
  config.specimen = false;
  renderer production{load_fonts(config)};
  // Compared, not absolute: the seal's scaled edges may hit the mark's gray in a few pixels.
  auto unmarked_pixels = specimen_gray_pixels(production.render(full_input()));
  CHECK(marked_pixels > unmarked_pixels + 100);
  auto sample = production.render_sample();
  CHECK(specimen_gray_pixels(sample) > unmarked_pixels + 100);
  // 見 of the name 見本 and of the address 見本町 only.
  CHECK(count(pdf_text(sample, false), "見") == 2);
}

TEST_CASE("render: a string with a blank in it comes out of pdftotext as printed",
          "[certificate]") {
  // Poppler turns a drawn U+3000 into a gap between words, and a wide gap into a column break;
  // lines with a blank carry their text as ActualText. Plain and -layout extraction alike.
  auto in = full_input();
  auto pdf = renderer{shared_fonts()}.render(in);
  for (bool layout : {false, true}) {
    auto text = pdf_text(pdf, layout);
    INFO("layout " << layout << "\n" << text);
    CHECK(text.find("令和7年度　所得・課税証明書") != std::string::npos);
    CHECK(text.find(in.resident.name) != std::string::npos); // 𠮷田　葛󠄀飾, selector included
    CHECK(text.find(in.resident.name_kana) != std::string::npos);
    CHECK(text.find("長　") != std::string::npos);
  }
}

TEST_CASE("render: a long address shrinks onto one line before it wraps", "[certificate]") {
  auto in = full_input();
  in.tax.address_jan1.clear();
  for (int i = 0; i < 15; ++i)
    in.tax.address_jan1 += "見本町丁"; // 60 characters: one line at a small size
  auto pdf = renderer{shared_fonts()}.render(in);
  for (bool layout : {false, true}) {
    INFO("layout " << layout);
    CHECK(pdf_text(pdf, layout).find(in.tax.address_jan1) != std::string::npos);
  }
}

TEST_CASE("render: full-width digits of an address are printed half-width", "[certificate]") {
  auto in = full_input();
  in.tax.address_jan1 = "大阪府吹田市見本町１丁目２３番４５号";
  auto text = without_blanks(pdf_text(renderer{shared_fonts()}.render(in), true));
  CHECK(text.find("大阪府吹田市見本町1丁目23番45号") != std::string::npos);
  for (auto digit : {"０", "１", "２", "３", "４", "５", "６", "７", "８", "９"})
    CHECK(text.find(digit) == std::string::npos);
}

TEST_CASE("render: arbitrary names either render or fail with unrenderable_text",
          "[certificate]") {
  // A deterministic stream of code points from the ranges a name could plausibly hold, plus
  // selectors, controls and private use: every outcome must be a PDF or a clean error.
  constexpr int names = 200;
  constexpr int name_chars_max = 12;
  constexpr std::array<std::pair<char32_t, char32_t>, 8> ranges = {{
    {0x4E00, 0x9FFF}, {0x3400, 0x4DBF}, {0x20000, 0x2A6DF}, {0x30A0, 0x30FF},
    {0xE0100, 0xE01EF}, {0xF900, 0xFAFF}, {0x0000, 0x007F}, {0xE000, 0xE0FF},
  }};
  renderer r{shared_fonts()};
  uint64_t seed = 0x9E3779B97F4A7C15ull;
  auto next = [&] {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
  };
  int rendered = 0, refused = 0;
  for (int n = 0; n < names; ++n) {
    auto in = sample_input();
    in.resident.name.clear();
    int length = 1 + static_cast<int>(next() % name_chars_max);
    for (int i = 0; i < length; ++i) {
      const auto& [lo, hi] = ranges[next() % ranges.size()];
      char32_t cp = lo + static_cast<char32_t>(next() % (hi - lo + 1));
      std::string utf8;
      if (cp < 0x80) {
        utf8 += static_cast<char>(cp);
      } else if (cp < 0x800) {
        utf8 += static_cast<char>(0xC0 | (cp >> 6));
        utf8 += static_cast<char>(0x80 | (cp & 0x3F));
      } else if (cp < 0x10000) {
        utf8 += static_cast<char>(0xE0 | (cp >> 12));
        utf8 += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        utf8 += static_cast<char>(0x80 | (cp & 0x3F));
      } else {
        utf8 += static_cast<char>(0xF0 | (cp >> 18));
        utf8 += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        utf8 += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        utf8 += static_cast<char>(0x80 | (cp & 0x3F));
      }
      in.resident.name += utf8;
    }
    try {
      auto pdf = r.render(in); // outside CHECK: Catch would take the exception as a failure
      CHECK(pdf.size() < certificate_bytes_max);
      ++rendered;
    } catch (const unrenderable_text& e) {
      CHECK(e.field() == "name");
      ++refused;
    }
  }
  CHECK(rendered > 0);
  CHECK(refused > 0);
}
