// Throughput of the parser on a generated 1,000,000-record tax feed (about 180 MB). Hidden from
// the default run; run it with: test_feed "[.bench]"

#include "feed/feed_writer.hpp"
#include "feed_test_util.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <unistd.h>

using namespace kofu;
using namespace kofu::feed;

namespace {

constexpr uint64_t bench_records = 1'000'000;
constexpr size_t bench_chunk_bytes = 1 << 20; // what an upload or a file read hands over

struct counting_sink final : record_sink {
  uint64_t n = 0;
  void on_header(const feed_header&) override {
    // nop
  }
  void on_resident(record_op, resident_record&&) override {
    ++n;
  }
  void on_tax(record_op, tax_record&& t) override {
    n += t.resident_code.size() != 0;
  }
};

std::string write_tax_feed(const std::filesystem::path& path, feed_encoding enc) {
  std::ofstream out(path, std::ios::binary);
  feed_header h{1, feed_kind::tax, feed_mode::full, "272051", 2025, 1, enc, "2026-06-01T02:00:00+09:00"};
  feed_writer w(h, out);
  tax_record t;
  t.fiscal_year = 2025;
  for (uint64_t i = 0; i < bench_records; ++i) {
    char code[16];
    std::snprintf(code, sizeof(code), "%011llu", static_cast<unsigned long long>(27'205'000'000ull + i * 7));
    t.resident_code = code;
    t.address_jan1 = "大阪府吹田市泉町一丁目" + std::to_string(i % 40 + 1) + "番" + std::to_string(i % 17 + 1) + "号";
    t.declaration = i % 10 == 9 ? declaration_kind::not_filed : declaration_kind::filed;
    t.amounts_yen = {};
    t.counts = {};
    t.spouse_flag = false;
    if (t.declaration == declaration_kind::filed) {
      const int64_t salary = 2'000'000 + static_cast<int64_t>(i % 5'000) * 1'000;
      t.amount(tax_amount::salary_revenue) = salary;
      t.amount(tax_amount::salary_income) = salary * 7 / 10;
      t.amount(tax_amount::total_income) = salary * 7 / 10;
      t.amount(tax_amount::social_insurance) = salary / 7;
      t.amount(tax_amount::basic) = 430'000;
      t.amount(tax_amount::total_deductions) = salary / 7 + 430'000;
      t.amount(tax_amount::taxable_income) = salary * 7 / 10 - salary / 7 - 430'000;
      t.amount(tax_amount::city_income_levy) = t.amount(tax_amount::taxable_income) * 6 / 100;
      t.amount(tax_amount::city_per_capita) = 3'500;
      t.amount(tax_amount::pref_income_levy) = t.amount(tax_amount::taxable_income) * 4 / 100;
      t.amount(tax_amount::pref_per_capita) = 1'500;
      t.amount(tax_amount::forest_env_tax) = 1'000;
      int64_t sum = 0;
      for (auto a : tax_amounts)
        sum += t.amount(a);
      t.amount(tax_amount::total_tax) = sum;
      t.spouse_flag = i % 3 == 0;
      t.count(tax_count::dep_under16) = static_cast<uint8_t>(i % 3);
    }
    w.add(t);
  }
  w.finish();
  return path.string();
}

void run(feed_encoding enc, const char* label) {
  const auto path = std::filesystem::temp_directory_path()
                    / ("kofu_feed_bench_" + std::to_string(::getpid()) + ".feed");
  write_tax_feed(path, enc);
  const auto bytes = std::filesystem::file_size(path);
  counting_sink sink;
  parser p({"272051", civil_date{2026, 6, 1}}, sink);
  std::ifstream in(path, std::ios::binary);
  std::string chunk(bench_chunk_bytes, '\0');
  const auto start = std::chrono::steady_clock::now();
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    p.feed(std::string_view(chunk.data(), static_cast<size_t>(in.gcount())));
  }
  p.finish();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::filesystem::remove(path);
  INFO((p.errors().empty() ? std::string() : p.errors()[0].message));
  REQUIRE(p.ok());
  REQUIRE(sink.n == bench_records);
  std::printf("%s: %llu records, %.1f MB in %.3f s: %.1f MB/s, %.0f records/s\n", label,
              static_cast<unsigned long long>(bench_records), static_cast<double>(bytes) / 1e6, s,
              static_cast<double>(bytes) / 1e6 / s, static_cast<double>(bench_records) / s);
}

} // namespace

TEST_CASE("parser throughput on a 1M-record tax feed", "[.bench]") {
  run(feed_encoding::utf8, "tax UTF-8");
  run(feed_encoding::cp932, "tax CP932");
}
