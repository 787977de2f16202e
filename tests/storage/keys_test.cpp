#include <catch2/catch.hpp>

#include "storage/crypto.hpp"
#include "storage/keys.hpp"
#include "storage/record_codec.hpp"
#include "test_util.hpp"

using namespace kofu;
using namespace kofu::storage;

TEST_CASE("integer keys round-trip and sort by value") {
  CHECK(keys::parse_id(keys::id(0)) == 0u);
  CHECK(keys::parse_id(keys::id(0x0102030405060708ull)) == 0x0102030405060708ull);
  CHECK(keys::id(255) < keys::id(256));
  CHECK(keys::read_u32(keys::resident_prefix(77), 0) == 77u);
  CHECK_FALSE(keys::parse_id("short").has_value());
}

TEST_CASE("tax keys group by year, then generation") {
  digest256 mac{};
  mac[0] = 0xff;
  auto k = keys::tax(2025, 3, mac);
  CHECK(k.size() == 4 + 4 + 32);
  CHECK(k.rfind(keys::tax_prefix(2025, 3), 0) == 0);
  CHECK(k.rfind(keys::tax_year_prefix(2025), 0) == 0);
  CHECK(k < keys::prefix_end(keys::tax_year_prefix(2025)));
  CHECK(keys::tax_year_prefix(2024) < keys::tax_year_prefix(2025));
}

TEST_CASE("prefix_end is the first key past a prefix") {
  CHECK(keys::prefix_end("ab") == "ac");
  CHECK(keys::prefix_end(std::string("a\xff", 2)) == "b");
  CHECK(keys::prefix_end(std::string("\xff\xff", 2)).empty());
}

TEST_CASE("ledger keys hold the day, then the certificate number") {
  auto k = keys::ledger_row(20261128, "20261128-000001");
  CHECK(k.rfind(keys::ledger_day_prefix(20261128), 0) == 0);
  CHECK(keys::ledger_row(20261128, "20261128-000002") > k);
}

TEST_CASE("records round-trip through the codec") {
  auto r = test::sample_resident("12345678901", "𠮷田　葛\U000E0100子");
  r.status = resident_status::moved_out;
  r.status_date = civil_date{2026, 3, 31};
  r.hold = issuance_hold::support_measure;
  auto back = decode_resident(encode(r));
  REQUIRE(back.has_value());
  CHECK(*back == r);
  auto t = test::sample_tax("12345678901", 2025, 4'200'000);
  t.declaration = declaration_kind::dependent;
  t.count(tax_count::dep_under16) = 2;
  t.spouse_flag = true;
  auto tback = decode_tax(encode(t));
  REQUIRE(tback.has_value());
  CHECK(*tback == t);
}

TEST_CASE("a truncated or extended record does not decode") {
  auto bytes = encode(test::sample_resident("12345678901", "見本"));
  CHECK_FALSE(decode_resident(bytes.substr(0, bytes.size() - 1)).has_value());
  CHECK_FALSE(decode_resident(bytes + "x").has_value());
  CHECK_FALSE(decode_tax(bytes).has_value());
}

TEST_CASE("sealed values open only with their key and context") {
  auto k1 = key256::random();
  auto k2 = key256::random();
  auto sealed = seal(k1, "ctx", "秘密");
  CHECK(sealed.find("秘密") == std::string::npos);
  auto plain = open(k1, "ctx", sealed);
  REQUIRE(plain.has_value());
  CHECK(plain->view() == "秘密");
  CHECK_FALSE(open(k2, "ctx", sealed).has_value());
  CHECK_FALSE(open(k1, "other", sealed).has_value());
  sealed[15] ^= 1;
  CHECK_FALSE(open(k1, "ctx", sealed).has_value());
}

TEST_CASE("hex and derived keys") {
  auto bytes = from_hex("00ffA0");
  REQUIRE(bytes.has_value());
  CHECK(to_hex(bytes->data(), bytes->size()) == "00ffa0");
  CHECK_FALSE(from_hex("0g").has_value());
  auto master = key256::random();
  auto a = derive_key(master, "a");
  auto b = derive_key(master, "b");
  CHECK_FALSE(std::equal(a.data(), a.data() + 32, b.data()));
}
