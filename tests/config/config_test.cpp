#include <catch2/catch.hpp>

#include "config/config.hpp"

using namespace kofu::config;

namespace {

const std::string minimal = R"(
[node]
mayor_name = 見本　太郎
[center]
tls_cert_file = s.crt
tls_key_file = s.key
client_ca_file = ca.crt
[render]
seal_png_file = seal.png
)";

std::string error_of(const std::string& text) {
  try {
    parse_config(text, "t.conf");
  } catch (const config_error& e) {
    return e.what();
  }
  return {};
}

} // namespace

TEST_CASE("the municipality code's check digit is validated") {
  CHECK(valid_municipality_code("272051"));
  CHECK(valid_municipality_code("131016"));
  CHECK(valid_municipality_code("011002"));
  CHECK_FALSE(valid_municipality_code("272052"));
  CHECK_FALSE(valid_municipality_code("27205"));
  CHECK_FALSE(valid_municipality_code("27205a"));
}

TEST_CASE("a minimal config takes every default") {
  auto c = parse_config(minimal, "t.conf");
  CHECK(c.center.listen.port == 8443);
  CHECK(c.admin.listen.host == "127.0.0.1");
  CHECK(c.issuance.deadline_ms == 5000);
  CHECK(c.issuance.redelivery_window_s == 300);
  CHECK(c.service.open_minute == 390);
  CHECK(c.service.close_minute == 1380);
  REQUIRE(c.service.closed_dates.size() == 1);
  CHECK(c.retention.fiscal_years == 1);
  CHECK(c.admin.tls_files_.cert_file == "s.crt");
}

TEST_CASE("errors name the key and its line") {
  CHECK_THAT(error_of(minimal + "[issuance]\ndeadline_ms = soon\n"),
             Catch::Contains("issuance.deadline_ms") && Catch::Contains("t.conf:11"));
  CHECK_THAT(error_of(minimal + "[issuance]\ndeadline_msx = 5\n"),
             Catch::Contains("unknown key issuance.deadline_msx"));
  CHECK_THAT(error_of(minimal + "[center]\n"), Catch::Contains("appears twice"));
  auto bad_code = std::string(minimal);
  bad_code.insert(bad_code.find("mayor_name"), "municipality_code = 272052\n");
  CHECK_THAT(error_of(bad_code), Catch::Contains("node.municipality_code"));
  CHECK_THAT(error_of(minimal + "[admin]\nlisten = 0.0.0.0:9443\ntls = false\n"),
             Catch::Contains("admin.tls"));
  CHECK_THAT(error_of(minimal + "[service]\nopen = 25:00\n"), Catch::Contains("service.open"));
}

TEST_CASE("tokens, service hours and closed dates parse") {
  auto c = parse_config(minimal + R"(
[token.alice]
sha256 = 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae
role = operator
[service]
open = 00:00
close = 24:00
closed_dates = 12-29..01-03, 05-03
)",
                        "t.conf");
  REQUIRE(c.tokens.size() == 1);
  CHECK(c.tokens[0].name == "alice");
  CHECK(c.tokens[0].role == admin_role::operator_);
  CHECK(c.service.close_minute == 1440);
  REQUIRE(c.service.closed_dates.size() == 2);
  CHECK(c.service.closed_dates[1].from_month == 5);
  CHECK(c.service.closed_dates[1].to_day == 3);
}
