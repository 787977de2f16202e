// Every fictitious resident of a demo-sized feed, checked by machine: each issuable one gets a
// certificate whose text names them, their address of 1 January and their annual tax, under the
// right title; each other one gets the one undistinguishable refusal.

#include <catch2/catch.hpp>

#include "node_fixture.hpp"

using namespace kofu;
using namespace kofu::it;

namespace {

/// 1234567 -> "1,234,567円", as certificate.md prints amounts.
std::string yen(const std::string& digits) {
  std::string plain = digits.empty() ? "0" : digits;
  std::string out;
  for (size_t i = 0; i < plain.size(); ++i) {
    if (i > 0 && (plain.size() - i) % 3 == 0)
      out += ',';
    out += plain[i];
  }
  return out + "円";
}

} // namespace

TEST_CASE("Every resident of a 1000-person feed gets exactly their certificate or a refusal",
          "[integration]") {
  node n({.count = 1000});
  http_client client(n.center_options());
  size_t issued = 0, refused = 0;
  for (auto& p : n.people().persons) {
    auto r = n.issue(client, {.request_id = n.next_request_id("P"), .resident_code = p.code});
    if (!p.issuable()) {
      CHECK(r.status == 422);
      CHECK_THAT(r.body, Catch::Contains("\"not_issuable\""));
      ++refused;
      continue;
    }
    REQUIRE(r.status == 200);
    ++issued;
    auto text = squeeze(pdf_text(r.body));
    INFO("resident #" << p.index);
    CHECK(has_name(text, p.name));
    CHECK(text.find(squeeze(p.address_jan1)) != std::string::npos);
    CHECK(text.find(squeeze(std::string(*r.header("Kofu-Certificate-Number"))))
          != std::string::npos);
    bool non_taxed = p.total_tax.empty() || p.total_tax == "0";
    CHECK((text.find("所得・課税（非課税）証明書") != std::string::npos) == non_taxed);
    CHECK(text.find("年税額" ) != std::string::npos);
    CHECK(text.find(yen(p.total_tax)) != std::string::npos);
  }
  CHECK(issued > 700);
  CHECK(refused > 0);
}
