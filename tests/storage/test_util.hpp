#pragma once

// Test helpers for storage: a temporary folder removed at the end, and sample records.

#include <filesystem>
#include <random>
#include <string>

#include "messages/records.hpp"

namespace kofu::test {

/// A fresh folder under the system temp dir, removed with everything in it when destroyed.
class temp_dir {
public:
  temp_dir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path()
            / ("kofu-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

private:
  std::filesystem::path path_;
};

inline resident_record sample_resident(const std::string& code, const std::string& name) {
  resident_record r;
  r.resident_code = code;
  r.name = name;
  r.name_kana = "ミホン　タロウ";
  r.birth_date = civil_date{1980, 4, 1};
  r.address = "大阪府吹田市泉町一丁目3番40号";
  return r;
}

inline tax_record sample_tax(const std::string& code, int32_t year, int64_t salary) {
  tax_record t;
  t.resident_code = code;
  t.fiscal_year = year;
  t.address_jan1 = "大阪府吹田市泉町一丁目3番40号";
  t.amount(tax_amount::salary_revenue) = salary;
  return t;
}

} // namespace kofu::test
