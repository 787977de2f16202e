// The center interface end to end (center-api.md): issuance over mutual TLS, the TLS refusals,
// malformed requests and the error precedence.

#include <catch2/catch.hpp>

#include <regex>

#include "node_fixture.hpp"

using namespace kofu::it;

namespace {

/// A problem+json body: REQUIREs the shape and returns it.
json problem_of(const http_client_response& r, unsigned status, const std::string& code) {
  INFO("status " << r.status << " body " << r.body);
  REQUIRE(r.status == status);
  auto ct = r.header("Content-Type");
  REQUIRE(ct);
  CHECK(std::string(*ct).starts_with("application/problem+json"));
  auto j = json::parse(r.body, nullptr, false);
  REQUIRE(j.is_object());
  CHECK(j.value("code", "") == code);
  CHECK(j.value("status", 0) == static_cast<int>(status));
  CHECK(j.value("type", "") == "about:blank");
  CHECK(j.contains("title"));
  return j;
}

bool issuable_plain(const person& p) {
  return p.issuable() && p.plain_name() && p.declaration == "filed" && p.total_tax != "0"
         && !p.total_tax.empty();
}

} // namespace

TEST_CASE("POST /center/v1/issuances answers a certificate over mutual TLS", "[integration]") {
  node n;
  auto p = n.people().one(issuable_plain);
  issue_params ip{.request_id = n.next_request_id(), .resident_code = p.code};
  auto r = n.issue(ip);
  INFO(r.body.substr(0, 400));
  REQUIRE(r.status == 200);
  REQUIRE(r.header("Content-Type"));
  CHECK(*r.header("Content-Type") == "application/pdf");
  REQUIRE(r.header("Kofu-Certificate-Number"));
  auto number = std::string(*r.header("Kofu-Certificate-Number"));
  CHECK(std::regex_match(number, std::regex(R"(\d{8}-\d{6})")));
  auto today = today_jst();
  today.erase(std::remove(today.begin(), today.end(), '-'), today.end());
  CHECK(number.substr(0, 8) <= today); // the issue date (JST), never in the future
  REQUIRE(r.header("Kofu-Pages"));
  CHECK(*r.header("Kofu-Pages") == "1");
  REQUIRE(r.header("Repr-Digest"));
  CHECK(*r.header("Repr-Digest") == "sha-256=:" + sha256_base64(r.body) + ":");
  REQUIRE(r.header("Cache-Control"));
  CHECK(*r.header("Cache-Control") == "no-store");
  CHECK(r.body.starts_with("%PDF-"));
  CHECK(r.body.size() < 100 * 1024);

  auto text = pdftotext(r.body, n.dir());
  REQUIRE_FALSE(text.empty());
  auto flat = squeeze(text);
  CHECK(has_name(flat, p.name));
  CHECK(has_name(flat, p.name_kana));
  CHECK(flat.find(squeeze(p.address_jan1)) != std::string::npos);
  CHECK(flat.find(number) != std::string::npos);
  CHECK(flat.find("令和7年度") != std::string::npos);
  CHECK(flat.find("所得・課税証明書") != std::string::npos);
  CHECK(flat.find("令和6年中の所得") != std::string::npos);

  // Without fiscal_year: the latest open year (2025) is taken.
  ip.request_id = n.next_request_id();
  ip.fiscal_year.reset();
  auto r2 = n.issue(ip);
  CHECK(r2.status == 200);
}

TEST_CASE("A client certificate that does not chain to the center CA or none at all ends the "
          "handshake", "[integration]") {
  node n;
  auto p = n.people().one(issuable_plain);
  for (std::string who : {"stranger", ""}) {
    INFO("client certificate: " << (who.empty() ? "none" : who));
    bool refused = false;
    try {
      http_client c(n.center_options(who));
      auto r = n.issue(c, {.request_id = n.next_request_id(), .resident_code = p.code});
      INFO("answered " << r.status << " " << r.body.substr(0, 200));
      CHECK(r.status != 200);
      CHECK_FALSE(r.body.starts_with("%PDF"));
      refused = true;
    } catch (const std::exception& e) {
      refused = true; // handshake or first read failed
    }
    CHECK(refused);
  }
  // TLS 1.1 and older are refused even with the center's certificate.
  {
    auto o = n.center_options();
    o.min_version = kofu::net::tls_version::v1_0;
    o.max_version = kofu::net::tls_version::v1_1;
    o.cipher_list = "DEFAULT:@SECLEVEL=0";
    bool refused = false;
    try {
      http_client c(o);
      auto r = n.issue(c, {.request_id = n.next_request_id(), .resident_code = p.code});
      CHECK(r.status != 200);
      refused = true;
    } catch (const std::exception&) {
      refused = true;
    }
    CHECK(refused);
  }
  {
    // The center's certificate negotiates TLS 1.3.
    http_client c(n.center_options());
    c.connect();
    CHECK(c.tls_version_name() == "TLSv1.3");
  }
  // The node is unharmed and serves the center.
  auto ok = n.issue({.request_id = n.next_request_id(), .resident_code = p.code});
  CHECK(ok.status == 200);
}

TEST_CASE("Malformed requests are answered 400/404/405/408/413/415 with the field named",
          "[integration]") {
  node n({.conf = {{"center", "read_timeout_ms", "500"}}});
  auto p = n.people().one(issuable_plain);
  auto good = [&] {
    return json::parse(issue_body({.request_id = n.next_request_id(), .resident_code = p.code}));
  };
  auto post = [&](const std::string& body, const std::string& ct = "application/json",
                  const std::string& target = "/center/v1/issuances",
                  const std::string& method = "POST") {
    http_client c(n.center_options());
    header_list h;
    if (!ct.empty())
      h.push_back({"Content-Type", ct});
    return c.request(method, target, h, body);
  };

  SECTION("bad JSON") {
    problem_of(post("{\"request_id\": \"C1\", "), 400, "bad_request");
    problem_of(post("[1,2]"), 400, "bad_request");
    problem_of(post(""), 400, "bad_request");
  }
  SECTION("fields out of their rule name the dotted path") {
    struct bad_case {
      std::function<void(json&)> edit;
      std::string field;
    };
    std::vector<bad_case> cases = {
      {[](json& j) { j.erase("resident_code"); }, "resident_code"},
      {[](json& j) { j["resident_code"] = "1234567890"; }, "resident_code"},
      {[](json& j) { j["resident_code"] = 12345678901LL; }, "resident_code"},
      {[](json& j) { j["request_id"] = std::string(65, 'a'); }, "request_id"},
      {[](json& j) { j["request_id"] = "C 1"; }, "request_id"},
      {[](json& j) { j.erase("request_id"); }, "request_id"},
      {[](json& j) { j["municipality_code"] = "27205"; }, "municipality_code"},
      {[](json& j) { j["municipality_code"] = 272051; }, "municipality_code"},
      {[](json& j) { j["certificate_type"] = 1; }, "certificate_type"},
      {[](json& j) { j["fiscal_year"] = "2025"; }, "fiscal_year"},
      {[](json& j) { j["fiscal_year"] = 2025.5; }, "fiscal_year"},
      {[](json& j) { j["kiosk"] = "S0001234"; }, "kiosk"},
      {[](json& j) { j.erase("kiosk"); }, "kiosk"},
      {[](json& j) { j["kiosk"]["store_code"] = "S_0001"; }, "kiosk.store_code"},
      {[](json& j) { j["kiosk"]["store_code"] = ""; }, "kiosk.store_code"},
      {[](json& j) { j["kiosk"].erase("store_code"); }, "kiosk.store_code"},
      {[](json& j) { j["kiosk"]["terminal_id"] = std::string(33, 'T'); }, "kiosk.terminal_id"},
      {[](json& j) { j["requested_at"] = "2026-11-28T10:15:00"; }, "requested_at"},
      {[](json& j) { j["requested_at"] = "yesterday"; }, "requested_at"},
    };
    for (auto& c : cases) {
      auto j = good();
      c.edit(j);
      INFO("body " << j.dump());
      auto pj = problem_of(post(j.dump()), 400, "bad_request");
      CHECK(pj.value("field", "") == c.field);
      // No personal data in an error body.
      CHECK(pj.dump().find(p.code) == std::string::npos);
    }
    // Unknown fields are ignored.
    auto j = good();
    j["extra"] = {{"x", 1}};
    auto r = post(j.dump());
    CHECK(r.status == 200);
  }
  SECTION("413, 415 and their precedence") {
    auto j = good();
    j["padding"] = std::string(9 * 1024, 'x');
    problem_of(post(j.dump()), 413, "payload_too_large");
    problem_of(post(j.dump(), "text/plain"), 413, "payload_too_large"); // 413 before 415
    problem_of(post(good().dump(), "text/plain"), 415, "unsupported_media_type");
    problem_of(post(good().dump(), ""), 415, "unsupported_media_type");
    problem_of(post("{not json", "text/plain"), 415, "unsupported_media_type"); // 415 before 400
    // 400 before 422: a bad field and a wrong municipality.
    auto k = good();
    k["municipality_code"] = "131016";
    k["kiosk"]["store_code"] = "bad code";
    auto pj = problem_of(post(k.dump()), 400, "bad_request");
    CHECK(pj.value("field", "") == "kiosk.store_code");
    // A JSON type with parameters is still JSON.
    CHECK(post(good().dump(), "application/json; charset=utf-8").status == 200);
    CHECK(post(good().dump(), "Application/JSON\t; charset=UTF-8").status == 200);
  }
  SECTION("unknown path and wrong method") {
    problem_of(post(good().dump(), "application/json", "/center/v1/nothing"), 404, "not_found");
    problem_of(post(good().dump(), "application/json", "/"), 404, "not_found");
    problem_of(post("", "", "/center/v1/issuances", "GET"), 405, "method_not_allowed");
    problem_of(post(good().dump(), "application/json", "/center/v1/issuances", "PUT"), 405,
               "method_not_allowed");
  }
  SECTION("a body that does not arrive in time is 408, and the node still answers") {
    http_client c(n.center_options());
    auto body = good().dump();
    std::string head = "POST /center/v1/issuances HTTP/1.1\r\nHost: localhost\r\n"
                       "Content-Type: application/json\r\nContent-Length: "
                       + std::to_string(body.size()) + "\r\n\r\n";
    c.write_raw(head + body.substr(0, body.size() / 2));
    auto r = c.read_response(); // the server's read timeout is 500 ms; the client's is longer
    problem_of(r, 408, "request_timeout");
    CHECK_FALSE(r.keep_alive); // answered 408 and closed
  }
  // Never a crash: the node answers afterwards.
  CHECK(n.alive());
  auto ok = n.issue({.request_id = n.next_request_id(), .resident_code = p.code});
  CHECK(ok.status == 200);
  // The refusals given before a session are counted by code as well (admin-api.md metrics).
  CHECK(post("{", "application/json").status == 400);
  CHECK(post(good().dump(), "text/plain").status == 415);
  auto metrics = n.admin("GET", "/metrics", n.viewer_token()).body;
  for (auto code : {"bad_request", "unsupported_media_type"}) {
    auto line = std::string("kofu_issuance_requests_total{code=\"") + code + "\"} ";
    auto at = metrics.find(line);
    INFO(code);
    REQUIRE(at != std::string::npos);
    CHECK(std::stoull(metrics.substr(at + line.size())) > 0);
  }
}
