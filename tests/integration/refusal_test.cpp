// 422 refusals (center-api.md): wrong_municipality, unsupported_certificate_type,
// year_not_available, and the one undistinguishable not_issuable for every reason that belongs to
// the person.

#include <catch2/catch.hpp>

#include "node_fixture.hpp"

using namespace kofu::it;

namespace {

void check_no_personal_data(const std::string& body, const person& p) {
  INFO("error body " << body);
  for (auto* field : {&p.code, &p.name, &p.name_kana, &p.address, &p.birth_date, &p.address_jan1})
    if (!field->empty())
      CHECK(body.find(*field) == std::string::npos);
}

} // namespace

TEST_CASE("422 not_issuable is one undistinguishable answer for every reason of the person - "
          "and wrong_municipality or unsupported_certificate_type or year_not_available",
          "[integration]") {
  // Tax records for the first 150 of 200 residents: the others have none.
  node n({.count = 200, .tax_count = 150});
  auto& people = n.people();
  auto ok = people.one([](const person& p) { return p.issuable() && p.plain_name(); });
  http_client c(n.center_options());
  auto issue = [&](issue_params ip) {
    ip.request_id = n.next_request_id();
    auto r = n.issue(c, ip);
    return std::make_pair(ip.request_id, r);
  };

  auto [rid_ok, r_ok] = issue({.resident_code = ok.code});
  REQUIRE(r_ok.status == 200);

  SECTION("refusals that are not the person's") {
    auto [rid1, wm] = issue({.resident_code = ok.code, .municipality_code = "131016"});
    CHECK(wm.status == 422);
    CHECK(json::parse(wm.body).value("code", "") == "wrong_municipality");
    CHECK(json::parse(wm.body).value("request_id", "") == rid1);
    auto [rid2, ct] = issue({.resident_code = ok.code, .certificate_type = "resident_card"});
    CHECK(ct.status == 422);
    CHECK(json::parse(ct.body).value("code", "") == "unsupported_certificate_type");
    auto [rid3, ya] = issue({.resident_code = ok.code, .fiscal_year = 2024});
    CHECK(ya.status == 422);
    CHECK(json::parse(ya.body).value("code", "") == "year_not_available");
    auto [rid4, yb] = issue({.resident_code = ok.code, .fiscal_year = 2026});
    CHECK(yb.status == 422);
    CHECK(json::parse(yb.body).value("code", "") == "year_not_available");
    // Any integer is of the field's rule: one that can be no fiscal year is not open either.
    for (int year : {0, -1, 10000}) {
      auto [rid, y] = issue({.resident_code = ok.code, .fiscal_year = year});
      INFO(year << ": " << y.body);
      CHECK(y.status == 422);
      CHECK(json::parse(y.body).value("code", "") == "year_not_available");
    }
    // Any string is a certificate type: an unknown one, however long, is unsupported.
    auto [rid5, ct_long] = issue({.resident_code = ok.code, .certificate_type = std::string(100, 'x')});
    CHECK(ct_long.status == 422);
    CHECK(json::parse(ct_long.body).value("code", "") == "unsupported_certificate_type");
    for (auto* r : {&wm, &ct, &ya, &yb})
      check_no_personal_data(r->body, ok);

    // Precedence: wrong_municipality, unsupported_certificate_type, year_not_available, then
    // not_issuable.
    std::string unknown = "00000000000";
    auto [a, r1] = issue({.resident_code = unknown, .municipality_code = "131016",
                          .certificate_type = "resident_card", .fiscal_year = 2024});
    CHECK(json::parse(r1.body).value("code", "") == "wrong_municipality");
    auto [b, r2] = issue({.resident_code = unknown, .certificate_type = "resident_card",
                          .fiscal_year = 2024});
    CHECK(json::parse(r2.body).value("code", "") == "unsupported_certificate_type");
    auto [d, r3] = issue({.resident_code = unknown, .fiscal_year = 2024});
    CHECK(json::parse(r3.body).value("code", "") == "year_not_available");
  }

  SECTION("every reason of the person gives the same bytes apart from request_id") {
    std::string unknown = "00000000000";
    for (auto& p : people.persons)
      REQUIRE(p.code != unknown);
    struct reason {
      std::string name;
      person who;
    };
    std::vector<reason> reasons;
    person stranger;
    stranger.code = unknown;
    reasons.push_back({"unknown resident", stranger});
    reasons.push_back({"moved_out", people.one([](auto& p) { return p.status == "moved_out"; })});
    reasons.push_back({"deceased", people.one([](auto& p) { return p.status == "deceased"; })});
    reasons.push_back({"support_measure",
                       people.one([](auto& p) { return p.hold == "support_measure"; })});
    reasons.push_back({"hold other", people.one([](auto& p) { return p.hold == "other"; })});
    reasons.push_back({"not_filed", people.one([](auto& p) {
                         return p.active() && p.hold.empty() && p.declaration == "not_filed";
                       })});
    reasons.push_back({"no tax record", people.one([](auto& p) {
                         return p.active() && p.hold.empty() && !p.has_tax;
                       })});
    auto manual = people.pick([](auto& p) { return p.issuable(); }, 1, 3)[0];
    n.admin_json("PUT", "/admin/v1/holds/" + manual.code, R"({"reason": "窓口で発行停止"})", 204);
    reasons.push_back({"manual hold", manual});

    std::optional<json> reference;
    std::vector<std::string> first_names;
    for (auto& r : reasons) {
      INFO("reason: " << r.name);
      auto [rid, resp] = issue({.resident_code = r.who.code});
      REQUIRE(resp.status == 422);
      CHECK(*resp.header("Content-Type") == "application/problem+json");
      auto j = json::parse(resp.body);
      CHECK(j.value("code", "") == "not_issuable");
      CHECK(j.value("request_id", "") == rid);
      // Byte-identical apart from the request_id.
      auto stripped = resp.body;
      auto at = stripped.find(rid);
      REQUIRE(at != std::string::npos);
      stripped.erase(at, rid.size());
      if (!reference)
        reference = json(stripped);
      CHECK(stripped == reference->get<std::string>());
      // The same headers too.
      std::vector<std::string> names;
      for (auto& h : resp.headers)
        if (!kofu::net::iequals(h.name, "Date") && !kofu::net::iequals(h.name, "Content-Length"))
          names.push_back(h.name + ": " + h.value);
      if (first_names.empty())
        first_names = names;
      CHECK(names == first_names);
      check_no_personal_data(resp.body, r.who);
    }
    // A refused request_id is processed afresh: the same id for an issuable person gives a PDF.
    auto rid = n.next_request_id();
    auto refused = n.issue(c, {.request_id = rid, .resident_code = unknown});
    CHECK(refused.status == 422);
    auto now_ok = n.issue(c, {.request_id = rid, .resident_code = ok.code});
    CHECK(now_ok.status == 200);

    // The audit log keeps the precise reason (no personal data there either).
    CHECK(n.wait_audit(rid, [](const json& entries) {
      for (auto& e : entries)
        if (e.value("event", "") == "refusal")
          return true;
      return false;
    }));
  }
}
