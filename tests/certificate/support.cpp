#include "support.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <unistd.h>

namespace kofu::certificate::test {

namespace {

/// Output of a test's helper command is at most this large (a PGM of a page at 50 dpi is ~170 KB).
constexpr size_t command_output_bytes_max = 16 * 1024 * 1024;

/// Removes this process's temporary directory when the test run ends.
struct temp_dir_cleanup {
  std::filesystem::path dir;
  ~temp_dir_cleanup() {
    std::error_code ignored;
    if (!dir.empty() && std::getenv("KOFU_KEEP_TEST_FILES") == nullptr)
      std::filesystem::remove_all(dir, ignored);
  }
};

temp_dir_cleanup cleanup;

} // namespace

layout_config test_config() {
  layout_config c;
  c.city_name = "吹田市";
  c.mayor_name = "吹田　太郎";
  c.prefecture_tax_word = "府民税";
  c.seal_png_path = std::string{KOFU_SOURCE_DIR} + "/certificate/assets/demo_seal.png";
  return c;
}

std::shared_ptr<const font_set> shared_fonts() {
  static const auto fonts = load_fonts(test_config());
  return fonts;
}

std::string temp_path(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path()
             / ("kofu-certificate-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  cleanup.dir = dir;
  return (dir / name).string();
}

void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out)
    throw std::runtime_error("cannot write " + path);
}

std::string run(const std::string& command) {
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr)
    throw std::runtime_error("popen failed: " + command);
  std::string out;
  std::array<char, 65536> buf;
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) {
    if (out.size() + n > command_output_bytes_max) {
      ::pclose(pipe);
      throw std::runtime_error("command output too large: " + command);
    }
    out.append(buf.data(), n);
  }
  int status = ::pclose(pipe);
  if (status != 0)
    throw std::runtime_error("command failed (" + std::to_string(status) + "): " + command);
  return out;
}

std::string pdf_text(const std::vector<uint8_t>& pdf, bool layout) {
  static int counter = 0;
  std::string path = temp_path("text-" + std::to_string(++counter) + ".pdf");
  write_file(path, pdf);
  return run(std::string{"pdftotext -enc UTF-8 "} + (layout ? "-layout " : "") + path + " -");
}

size_t specimen_gray_pixels(const std::vector<uint8_t>& pdf) {
  static int counter = 0;
  std::string path = temp_path("pixels-" + std::to_string(++counter) + ".pdf");
  write_file(path, pdf);
  auto pgm = run("pdftoppm -gray -r 18 -aa no -aaVector no -f 1 -l 1 " + path);
  // "P5\n<w> <h>\n255\n" then one byte per pixel.
  size_t at = 0;
  for (int lines = 0; lines < 3; ++lines) {
    at = pgm.find('\n', at);
    if (at == std::string::npos)
      throw std::runtime_error("pdftoppm gave no image for " + path);
    ++at;
  }
  constexpr unsigned char mark_gray = 209; // 0.82 * 255
  return static_cast<size_t>(std::count(pgm.begin() + static_cast<std::ptrdiff_t>(at), pgm.end(),
                                        static_cast<char>(mark_gray)));
}

certificate_input full_input() {
  certificate_input in = sample_input();
  in.resident.name = "𠮷田　葛\U000E0100飾";
  in.resident.name_kana = "ヨシダ　カツシカ";
  in.resident.birth_date = {1989, 1, 8};
  in.tax.address_jan1 = "大阪府吹田市髙﨑町二丁目5番8号";
  int64_t v = 101;
  for (auto& a : in.tax.amounts_yen)
    a = (v = (v * 7 + 13) % 9'000'000) + 1000;
  in.tax.amount(tax_amount::total_tax) = 1'234'567;
  in.tax.spouse_flag = true;
  uint8_t n = 1;
  for (auto& c : in.tax.counts)
    c = n++;
  in.certificate_number = "20261128-000042";
  in.issue_date = {2026, 11, 28};
  return in;
}

} // namespace kofu::certificate::test
