// The admin interface (admin-api.md): authentication and roles, health, metrics, audit, the
// sample certificate; feeds rejected through the server; a restart on the same data.

#include <catch2/catch.hpp>

#include <ctime>
#include <fstream>
#include <filesystem>
#include <thread>

#include "node_fixture.hpp"

using namespace kofu::it;

namespace {

bool issuable_plain(const person& p) {
  return p.issuable() && p.plain_name();
}

std::string number_of(const http_client_response& r) {
  auto h = r.header("Kofu-Certificate-Number");
  return h ? std::string(*h) : std::string{};
}

/// A certificate's text without its certificate number.
std::string text_minus_number(const http_client_response& r) {
  auto text = squeeze(pdf_text(r.body));
  auto number = number_of(r);
  for (auto at = text.find(number); !number.empty() && at != std::string::npos;
       at = text.find(number))
    text.erase(at, number.size());
  return text;
}

} // namespace

TEST_CASE("Admin authentication: 401 without or with an unknown token and 403 for a viewer doing "
          "operator work - /healthz and /readyz need none", "[integration]") {
  node n({.rollover = false});
  struct ep {
    std::string method, target;
    bool operator_only;
  };
  std::vector<ep> endpoints = {
    {"GET", "/metrics", false},
    {"GET", "/admin/v1/status", false},
    {"POST", "/admin/v1/feeds", true},
    {"GET", "/admin/v1/feeds", false},
    {"GET", "/admin/v1/feeds/1", false},
    {"POST", "/admin/v1/rollover", true},
    {"POST", "/admin/v1/service/suspend", true},
    {"POST", "/admin/v1/service/resume", true},
    {"PUT", "/admin/v1/holds/12345678901", true},
    {"DELETE", "/admin/v1/holds/12345678901", true},
    {"GET", "/admin/v1/ledger?date=2026-11-28", false},
    {"GET", "/admin/v1/audit", false},
    {"GET", "/admin/v1/audit/verify", false},
    {"GET", "/admin/v1/sessions", false},
    {"GET", "/admin/v1/sample-certificate", false},
  };
  std::string unknown(64, 'a');
  for (auto& e : endpoints) {
    INFO(e.method << " " << e.target);
    std::string body = e.method == "POST" || e.method == "PUT" ? "{}" : "";
    for (auto* token : {"", unknown.c_str(), "Basic x"}) {
      auto r = n.admin(e.method, e.target, token, body);
      CHECK(r.status == 401);
      auto j = json::parse(r.body, nullptr, false);
      CHECK(j.value("code", "") == "unauthorized");
      CHECK(std::string(r.header("Content-Type").value_or("")) == "application/problem+json");
    }
    // The upload with a feed content type goes through the streaming path: refused there too.
    if (e.target == "/admin/v1/feeds" && e.method == "POST") {
      CHECK(n.admin("POST", e.target, "", "#KOFU-FEED\n", "text/csv").status == 401);
      CHECK(n.admin("POST", e.target, n.viewer_token(), "#KOFU-FEED\n", "text/csv").status == 403);
    }
    auto v = n.admin(e.method, e.target, n.viewer_token(), body);
    if (e.operator_only) {
      CHECK(v.status == 403);
      CHECK(json::parse(v.body, nullptr, false).value("code", "") == "forbidden");
    } else {
      CHECK(v.status == 200);
    }
  }
  // 401/403 are audited.
  auto audit = n.admin_json("GET", "/admin/v1/audit?limit=10000");
  int refused = 0;
  for (auto& e : audit.at("entries"))
    refused += e.value("event", "") == "admin_refused";
  CHECK(refused >= 10);
  // A refused hold request names the route, not the resident code it carried (data-lifecycle.md:
  // codes only as keyed hashes).
  CHECK(audit.dump().find("12345678901") == std::string::npos);

  // A known path with another method is 405 with the path's methods in Allow (RFC 9110).
  auto wrong = n.admin("DELETE", "/admin/v1/status", n.operator_token());
  CHECK(wrong.status == 405);
  CHECK(std::string(wrong.header("Allow").value_or("")) == "GET");
  auto holds = n.admin("GET", "/admin/v1/holds/12345678901", n.operator_token());
  CHECK(holds.status == 405);
  CHECK(std::string(holds.header("Allow").value_or("")) == "PUT, DELETE");

  // No token needed for health.
  auto h = n.admin("GET", "/healthz", "");
  CHECK(h.status == 200);
  CHECK(h.body == "ok");
  auto not_ready = n.admin("GET", "/readyz", "");
  CHECK(not_ready.status == 503);
  CHECK(json::parse(not_ready.body).contains("reasons"));
  // Before the rollover no year is open: the center gets year_not_available.
  auto p = n.people().one(issuable_plain);
  auto early = n.issue({.request_id = n.next_request_id(), .resident_code = p.code});
  CHECK(early.status == 422);
  CHECK(json::parse(early.body).value("code", "") == "year_not_available");

  // A rollover to a year without a tax feed is 409.
  CHECK(n.admin("POST", "/admin/v1/rollover", n.operator_token(), R"({"fiscal_year": 2026})")
          .status
        == 409);
  auto ro = n.rollover(2025);
  CHECK(ro.value("fiscal_year", 0) == 2025);
  CHECK(ro.at("open_years") == json::array({2025}));
  CHECK(n.admin("GET", "/readyz", "").status == 200);
  auto ok = n.issue({.request_id = n.next_request_id(), .resident_code = p.code});
  CHECK(ok.status == 200);

  auto metrics = n.admin("GET", "/metrics", n.viewer_token());
  REQUIRE(metrics.status == 200);
  CHECK(metrics.body.find("kofu_issuance_requests_total") != std::string::npos);
  // The issuance above waited for one synced audit write at least.
  CHECK(metrics.body.find("kofu_audit_commit_duration_seconds_count 0\n") == std::string::npos);
  CHECK(metrics.body.find("kofu_audit_commit_duration_seconds_count ") != std::string::npos);
  CHECK(metrics.body.find("kofu_audit_sync_duration_seconds_count 0\n") == std::string::npos);
  CHECK(metrics.body.find("kofu_audit_sync_duration_seconds_count ") != std::string::npos);
  CHECK(metrics.body.find(p.code) == std::string::npos);

  auto verify = n.admin_json("GET", "/admin/v1/audit/verify");
  CHECK(verify.value("ok", false));
  CHECK(verify.value("entries", 0) > 0);

  auto sample = n.admin("GET", "/admin/v1/sample-certificate", n.viewer_token());
  REQUIRE(sample.status == 200);
  CHECK(std::string(sample.header("Content-Type").value_or("")) == "application/pdf");
  CHECK(pdf_text(sample.body).find("見本") != std::string::npos);

  // Suspension: 503 service_suspended; outcomes are still accepted.
  n.admin_json("POST", "/admin/v1/service/suspend", R"({"reason": "maintenance"})", 204);
  auto sus = n.issue({.request_id = n.next_request_id(), .resident_code = p.code});
  CHECK(sus.status == 503);
  CHECK(json::parse(sus.body).value("code", "") == "service_suspended");
  http_client c(n.center_options());
  CHECK(n.outcome(c, std::string("xnever"), "printed").status == 404);
  n.admin_json("POST", "/admin/v1/service/resume", "", 204);
  CHECK(n.issue({.request_id = n.next_request_id(), .resident_code = p.code}).status == 200);

  // A reason is limited in characters (512), not bytes: 512 kanji pass, 513 do not.
  std::string kanji;
  for (int i = 0; i < 512; ++i)
    kanji += "保";
  n.admin_json("POST", "/admin/v1/service/suspend", R"({"reason": ")" + kanji + R"("})", 204);
  n.admin_json("POST", "/admin/v1/service/resume", "", 204);
  CHECK(n.admin("POST", "/admin/v1/service/suspend", n.operator_token(),
                R"({"reason": ")" + kanji + R"(保"})")
          .status
        == 400);

  // Operator actions that fail are audited too, with the problem's code and detail; a hold's
  // resident code only as its keyed hash.
  CHECK(n.admin("POST", "/admin/v1/service/suspend", n.operator_token(), "{}").status == 400);
  CHECK(n.admin("DELETE", "/admin/v1/holds/" + p.code, n.operator_token()).status == 404);
  // Audit entries are written in the logger's next group: wait (bounded) for the last two.
  json failed;
  std::vector<std::string> seen;
  for (int i = 0; i < 500 && seen.size() < 4; ++i) {
    if (i > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    failed = n.admin_json("GET", "/admin/v1/audit?limit=10000");
    seen.clear();
    for (auto& e : failed.at("entries"))
      if (e.value("event", "") == "admin_failed")
        seen.push_back(e.value("outcome", "") + " " + e.value("detail", "") + " "
                       + e.value("subject", ""));
  }
  INFO(failed.dump());
  REQUIRE(seen.size() == 4);
  CHECK(seen[0].starts_with("conflict POST /admin/v1/rollover: no tax feed is loaded for fiscal "
                            "year 2026"));
  CHECK(seen[1].starts_with("bad_request POST /admin/v1/service/suspend")); // 513 characters
  CHECK(seen[2].starts_with("bad_request POST /admin/v1/service/suspend"));
  CHECK(seen[3].starts_with("not_found DELETE /admin/v1/holds/*"));
  CHECK_FALSE(seen[3].ends_with(" "));
  CHECK(failed.dump().find(p.code) == std::string::npos);
}

TEST_CASE("A rejected feed changes nothing: wrong checksum or stale sequence", "[integration]") {
  node n;
  auto x = n.people().one([](const person& p) {
    return issuable_plain(p) && p.raw_line.ends_with(",active,,")
           && p.raw_line.find('"') == std::string::npos;
  });
  auto before = n.issue({.request_id = n.next_request_id(), .resident_code = x.code});
  REQUIRE(before.status == 200);
  auto residents = read_file(n.feeds_dir() + "/residents.csv");

  SECTION("wrong checksum") {
    // A newer full feed that would put X on hold, with a wrong sha256 in its trailer.
    auto feed = with_sequence(residents, 5);
    auto at = feed.find(x.raw_line);
    REQUIRE(at != std::string::npos);
    feed.insert(at + x.raw_line.size(), "other");
    auto sha = feed.find("sha256=");
    REQUIRE(sha != std::string::npos);
    feed[sha + 7] = feed[sha + 7] == '0' ? '1' : '0';
    auto st = n.load_feed(feed, "rejected");
    REQUIRE(st.at("errors").size() >= 1);
    auto& e = st.at("errors")[0];
    CHECK(e.value("line", 0) > 0);
    CHECK_FALSE(e.value("message", "").empty());
    CHECK(st.dump().find(x.code) == std::string::npos);
    CHECK(st.dump().find(x.name) == std::string::npos);
    // The status page shows the rejection as the last residents feed, and what the data stands
    // on as the last applied.
    auto status = n.admin_json("GET", "/admin/v1/status");
    CHECK(status.at("last_feeds").at("residents").value("state", "") == "rejected");
    CHECK(status.at("last_feeds").at("residents").value("feed_id", 0)
          == st.value("feed_id", -1));
    CHECK(status.at("last_applied_feeds").at("residents").value("state", "") == "applied");
  }
  SECTION("a header error") {
    auto feed = with_sequence(residents, 5);
    feed.insert(feed.find('\n'), ",priority=1");
    auto st = n.load_feed(feed, "rejected");
    CHECK(st.value("kind", "") == "residents"); // named by the header, though it has an error
    auto status = n.admin_json("GET", "/admin/v1/status");
    CHECK(status.at("last_feeds").at("residents").value("feed_id", 0) == st.value("feed_id", -1));
  }
  SECTION("stale sequence") {
    auto st = n.load_feed(residents, "rejected");
    REQUIRE(st.at("errors").size() >= 1);
    CHECK(st.at("errors")[0].value("line", 0) == 1);
    auto tax = n.load_feed(read_file(n.feeds_dir() + "/tax-2025.csv"), "rejected");
    REQUIRE(tax.at("errors").size() >= 1);
    CHECK(tax.at("errors")[0].value("line", 0) == 1);
  }
  SECTION("a tax feed of a year the rollover destroyed") {
    // Fiscal year 2025 is open and retention.fiscal_years is 1: 2024 is not kept.
    auto tax = read_file(n.feeds_dir() + "/tax-2025.csv");
    auto eol = tax.find('\n');
    auto year = tax.find("fiscal_year=2025");
    REQUIRE(year < eol);
    tax.replace(year, 16, "fiscal_year=2024");
    auto st = n.load_feed(tax, "rejected");
    REQUIRE(st.at("errors").size() >= 1);
    auto& e = st.at("errors")[0];
    CHECK(e.value("line", 0) == 1);
    CHECK(e.at("field").is_null()); // a header error names the line only
    CHECK(e.value("message", "").find("fiscal year 2024 is no longer kept") != std::string::npos);
    auto status = n.admin_json("GET", "/admin/v1/status");
    CHECK_FALSE(status.at("tax_records").contains("2024"));
  }
  auto after = n.issue({.request_id = n.next_request_id(), .resident_code = x.code});
  REQUIRE(after.status == 200);
  CHECK(number_of(after) != number_of(before));
  CHECK(text_minus_number(after) == text_minus_number(before));
  // The feed history lists it, newest first.
  auto feeds = n.admin_json("GET", "/admin/v1/feeds").at("feeds");
  REQUIRE(feeds.size() >= 3);
  CHECK(feeds[0].value("state", "") == "rejected");
}

TEST_CASE("A feed upload over admin.feed_upload_bytes_max is 413 at once - it is rejected, and "
          "the next feed loads", "[integration]") {
  node n;
  n.stop();
  n.set_conf("admin", "feed_upload_bytes_max", "4096");
  n.start();
  auto residents = read_file(n.feeds_dir() + "/residents.csv");
  REQUIRE(residents.size() > 4096);
  auto big = n.admin("POST", "/admin/v1/feeds", n.operator_token(), with_sequence(residents, 5),
                     "text/csv");
  CHECK(big.status == 413);
  CHECK(json::parse(big.body, nullptr, false).value("code", "") == "payload_too_large");
  // The feed it had started is rejected, not left waiting for a body that never comes.
  bool rejected = false;
  for (int i = 0; i < 250 && !rejected; ++i) {
    auto feeds = n.admin_json("GET", "/admin/v1/feeds").at("feeds");
    rejected = !feeds.empty() && feeds[0].value("state", "") == "rejected";
    if (!rejected)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(rejected);
  // A feed within the limit is loaded after it.
  auto y = n.people().one(issuable_plain);
  auto body = "op," + n.people().residents_columns + "\nU," + y.raw_line + "\n";
  auto delta = std::string("#KOFU-FEED,version=1,kind=residents,mode=delta,municipality=272051,"
                           "sequence=2,encoding=UTF-8,created_at=2025-06-02T02:00:00+09:00\n")
               + body + "#END,records=1,sha256=" + sha256_hex(body) + "\n";
  REQUIRE(delta.size() < 4096);
  auto st = n.wait_feed(n.upload_feed(delta), std::chrono::seconds(30));
  INFO(st.dump());
  CHECK(st.value("state", "") == "applied");
}

TEST_CASE("A feed named in the inbox folder by POST is loaded under the id it answered and removed "
          "from the folder", "[integration]") {
  node n;
  auto inbox = n.dir() + "/inbox";
  std::filesystem::create_directories(inbox);
  n.stop();
  n.set_conf("feeds", "inbox_dir", inbox);
  n.start();
  auto residents = read_file(n.feeds_dir() + "/residents.csv");
  {
    std::ofstream out(inbox + "/residents-5.csv", std::ios::binary);
    out << with_sequence(residents, 5);
  }
  auto post = [&](const std::string& body) {
    return n.admin("POST", "/admin/v1/feeds", n.operator_token(), body, "application/json");
  };
  auto r = post(R"({"path": "residents-5.csv"})");
  INFO(r.body);
  REQUIRE(r.status == 202);
  auto id = json::parse(r.body).at("feed_id").get<uint64_t>();
  auto st = n.wait_feed(id);
  INFO(st.dump());
  CHECK(st.value("state", "") == "applied");
  CHECK_FALSE(std::filesystem::exists(inbox + "/residents-5.csv"));
  // Nothing else took it (the folder is not watched by default): one feed for one file.
  auto feeds = n.admin_json("GET", "/admin/v1/feeds").at("feeds");
  CHECK(feeds[0].value("feed_id", uint64_t{0}) == id);
  CHECK(post(R"({"path": "residents-5.csv"})").status == 404);
  CHECK(post(R"({"path": "../kofu.conf"})").status == 400);
  CHECK(post(R"({"file": "x.csv"})").status == 400);
}

TEST_CASE("Audit queries - a date names its whole day in from and to, and a time's offset may "
          "come unencoded", "[integration]") {
  node n;
  auto x = n.people().one(issuable_plain);
  auto rid = n.next_request_id();
  auto r = n.issue({.request_id = rid, .resident_code = x.code});
  REQUIRE(r.status == 200);
  REQUIRE(n.wait_audit(rid, [](const json& e) { return !e.empty(); }));
  auto number = number_of(r); // YYYYMMDD-NNNNNN, the JST issue date
  auto day = number.substr(0, 4) + "-" + number.substr(4, 2) + "-" + number.substr(6, 2);
  auto has_rid = [&](const std::string& query) {
    auto j = n.admin_json("GET", "/admin/v1/audit?" + query);
    for (auto& e : j.at("entries"))
      if (e.value("request_id", "") == rid)
        return true;
    return false;
  };
  CHECK(has_rid("from=" + day + "&to=" + day));
  CHECK(has_rid("to=" + day));
  CHECK(has_rid("from=" + day + "T00:00:00+09:00"));
  CHECK(has_rid("from=" + day + "T00:00:00%2B09:00"));
  CHECK_FALSE(has_rid("from=" + day + "T00:00:00+09:00&to=" + day + "T00:00:00+09:00"));
  CHECK(n.admin("GET", "/admin/v1/audit?from=yesterday", n.viewer_token()).status == 400);
}

TEST_CASE("A restart keeps the data and continues the certificate numbers and the audit chain",
          "[integration]") {
  node n;
  auto people = n.people().pick(issuable_plain, 2);
  issue_params first{.request_id = n.next_request_id(), .resident_code = people[0].code};
  auto a = n.issue(first);
  REQUIRE(a.status == 200);
  auto status_before = n.admin_json("GET", "/admin/v1/status");

  auto rc = n.stop();
  INFO("kofud log:\n" << n.log());
  CHECK(rc == 0); // a clean stop
  n.start();
  auto status_after = n.admin_json("GET", "/admin/v1/status");
  CHECK(status_after.at("residents") == status_before.at("residents"));
  CHECK(status_after.at("tax_records") == status_before.at("tax_records"));
  CHECK(status_after.at("open_fiscal_years") == json::array({2025}));
  CHECK(n.admin("GET", "/readyz", "").status == 200);
  // The feeds applied before the restart still show in the metrics.
  auto metrics = n.admin("GET", "/metrics", n.viewer_token()).body;
  CHECK(metrics.find("kofu_feed_last_applied_timestamp_seconds{kind=\"residents\"}")
        != std::string::npos);
  CHECK(metrics.find("kofu_feed_last_applied_timestamp_seconds{kind=\"tax\"}")
        != std::string::npos);

  auto b = n.issue({.request_id = n.next_request_id(), .resident_code = people[1].code});
  REQUIRE(b.status == 200);
  auto na = number_of(a), nb = number_of(b);
  INFO(na << " then " << nb);
  CHECK(nb != na);
  if (na.substr(0, 8) == nb.substr(0, 8)) {
    // The daily sequence continues without a gap after a clean stop.
    CHECK(std::stoul(nb.substr(9)) == std::stoul(na.substr(9)) + 1);
  }

  // The lost answer of the first request can still be fetched (same number, same bytes).
  auto again = n.issue(first);
  REQUIRE(again.status == 200);
  CHECK(number_of(again) == na);
  CHECK(again.body == a.body);

  auto verify = n.admin_json("GET", "/admin/v1/audit/verify");
  CHECK(verify.value("ok", false));
  CHECK(verify.value("entries", 0) > 0);
}

TEST_CASE("Outside service hours the center gets 503 service_suspended - outcome reports are "
          "always accepted", "[integration]") {
  // A one-hour window that does not hold the present hour (JST).
  std::time_t t = std::time(nullptr) + 9 * 3600;
  std::tm tm{};
  gmtime_r(&t, &tm);
  int open = tm.tm_hour < 20 ? tm.tm_hour + 2 : 1;
  auto hh = [](int h) { return (h < 10 ? "0" : "") + std::to_string(h) + ":00"; };
  node n({.conf = {{"service", "open", hh(open)}, {"service", "close", hh(open + 1)}}});
  auto p = n.people().one(issuable_plain);
  auto r = n.issue({.request_id = n.next_request_id(), .resident_code = p.code});
  INFO(r.body);
  CHECK(r.status == 503);
  CHECK(json::parse(r.body, nullptr, false).value("code", "") == "service_suspended");
  CHECK(r.header("Retry-After").has_value());
  http_client c(n.center_options());
  auto o = n.outcome(c, n.next_request_id("never"), "printed");
  CHECK(o.status == 404);
  CHECK(json::parse(o.body, nullptr, false).value("code", "") == "unknown_request");
  // Precedence: 400 before 503.
  auto bad = n.issue({.request_id = n.next_request_id(), .resident_code = "1"});
  CHECK(bad.status == 400);
}
