// Repeated request_id and outcome reports (center-api.md), the ledger (admin-api.md).

#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "node_fixture.hpp"

using namespace kofu::it;

namespace {

bool issuable_plain(const person& p) {
  return p.issuable() && p.plain_name();
}

std::string code_of(const http_client_response& r) {
  auto j = json::parse(r.body, nullptr, false);
  return j.is_object() ? j.value("code", "") : "";
}

std::string number_of(const http_client_response& r) {
  auto h = r.header("Kofu-Certificate-Number");
  return h ? std::string(*h) : std::string{};
}

/// Counts audit entries of an event with outcome ok, and the distinct certificate numbers.
struct audit_summary {
  int issuance = 0, redelivery = 0;
  std::set<std::string> numbers;
};

audit_summary summarize(const json& entries) {
  audit_summary s;
  for (auto& e : entries) {
    auto ev = e.value("event", "");
    if (ev == "issuance" && e.value("outcome", "") == "ok")
      ++s.issuance;
    if (ev == "redelivery")
      ++s.redelivery;
    if (e.contains("certificate_number") && (ev == "issuance" || ev == "redelivery"))
      s.numbers.insert(e.value("certificate_number", ""));
  }
  return s;
}

} // namespace

TEST_CASE("Repeated request_id: same content gets the same certificate - different content or "
          "after an outcome is 409 request_conflict - concurrent repeats never do the work twice",
          "[integration]") {
  node n;
  auto people = n.people().pick(issuable_plain, 3);
  http_client c(n.center_options());

  SECTION("sequential") {
    issue_params ip{.request_id = n.next_request_id(), .resident_code = people[0].code};
    auto a = n.issue(c, ip);
    REQUIRE(a.status == 200);
    ip.requested_at = "2026-11-28T10:15:09+09:00"; // requested_at may differ
    auto b = n.issue(c, ip);
    REQUIRE(b.status == 200);
    CHECK(number_of(a) == number_of(b));
    CHECK(a.body == b.body); // deterministic: byte-identical
    CHECK(*a.header("Repr-Digest") == *b.header("Repr-Digest"));

    auto other = ip;
    other.terminal_id = "T02";
    auto d = n.issue(c, other);
    CHECK(d.status == 409);
    CHECK(code_of(d) == "request_conflict");
    auto other2 = ip;
    other2.resident_code = people[1].code;
    auto e = n.issue(c, other2);
    CHECK(e.status == 409);
    CHECK(code_of(e) == "request_conflict");
    CHECK(e.body.find(people[1].code) == std::string::npos);

    // After an outcome: 409 even with the same content.
    auto o = n.outcome(c, ip.request_id, "printed");
    CHECK(o.status == 204);
    auto f = n.issue(c, ip);
    CHECK(f.status == 409);
    CHECK(code_of(f) == "request_conflict");

    CHECK(n.wait_audit(ip.request_id, [](const json& entries) {
      auto s = summarize(entries);
      return s.issuance == 1 && s.redelivery == 1 && s.numbers.size() == 1;
    }));
  }

  SECTION("the same request_id twice at once from two connections") {
    for (int round = 0; round < 10; ++round) {
      INFO("round " << round);
      issue_params ip{.request_id = n.next_request_id(), .resident_code = people[round % 3].code};
      start_gate gate(2);
      http_client_response out[2];
      std::string errors[2];
      std::thread threads[2];
      for (int t = 0; t < 2; ++t) {
        threads[t] = std::thread([&, t] {
          try {
            http_client client(n.center_options());
            client.connect();
            gate.arrive_and_wait();
            out[t] = n.issue(client, ip);
          } catch (const std::exception& e) {
            errors[t] = e.what();
            gate.abort();
          }
        });
      }
      for (auto& th : threads)
        th.join();
      for (int t = 0; t < 2; ++t) {
        INFO("thread " << t << " error " << errors[t] << " status " << out[t].status << " "
                       << out[t].body.substr(0, 200));
        REQUIRE(errors[t].empty());
        REQUIRE(out[t].status == 200);
      }
      CHECK(number_of(out[0]) == number_of(out[1]));
      CHECK(out[0].body == out[1].body);
      CHECK(n.wait_audit(ip.request_id, [](const json& entries) {
        auto s = summarize(entries);
        return s.issuance == 1 && s.redelivery <= 1 && s.numbers.size() == 1;
      }));
      // Give the audit a moment to show a wrongly doubled issuance (never expected).
      auto s = summarize(n.audit_for(ip.request_id));
      CHECK(s.issuance == 1);
      CHECK(s.numbers.size() == 1);
    }
  }
}

TEST_CASE("Outcomes: 204 and idempotent - 409 outcome_conflict - 404 unknown_request - the ledger "
          "shows them", "[integration]") {
  node n;
  auto people = n.people().pick(issuable_plain, 2);
  http_client c(n.center_options());
  issue_params ip{.request_id = n.next_request_id(), .resident_code = people[0].code,
                  .store_code = "S0009999", .terminal_id = "T07"};
  auto r = n.issue(c, ip);
  REQUIRE(r.status == 200);
  auto number = number_of(r);
  issue_params ip2{.request_id = n.next_request_id(), .resident_code = people[1].code};
  auto r2 = n.issue(c, ip2);
  REQUIRE(r2.status == 200);

  auto o1 = n.outcome(c, ip.request_id, "printed");
  CHECK(o1.status == 204);
  CHECK(o1.body.empty());
  CHECK_FALSE(find_header(o1.headers, "Content-Length").has_value()); // RFC 9110: not on a 204
  auto o2 = n.outcome(c, ip.request_id, "printed");
  CHECK(o2.status == 204);
  auto o3 = n.outcome(c, ip.request_id, "cancelled");
  CHECK(o3.status == 409);
  CHECK(code_of(o3) == "outcome_conflict");
  auto o4 = n.outcome(c, n.next_request_id("never"), "printed");
  CHECK(o4.status == 404);
  CHECK(code_of(o4) == "unknown_request");
  // A refused request was never answered with a certificate.
  auto refused_id = n.next_request_id();
  auto refused = n.issue(c, {.request_id = refused_id, .resident_code = "00000000000"});
  CHECK(refused.status == 422);
  auto o5 = n.outcome(c, refused_id, "printed");
  CHECK(o5.status == 404);
  CHECK(code_of(o5) == "unknown_request");
  // A bad outcome value is 400 with the field.
  auto o6 = c.request("POST", "/center/v1/issuances/" + ip2.request_id + "/outcome",
                      {{"Content-Type", "application/json"}},
                      R"({"outcome": "lost", "reported_at": "2026-11-28T10:15:40+09:00"})");
  CHECK(o6.status == 400);
  CHECK(json::parse(o6.body).value("field", "") == "outcome");

  // The ledger of the issue date (JST), from the certificate number.
  auto date = number.substr(0, 4) + "-" + number.substr(4, 2) + "-" + number.substr(6, 2);
  auto ledger = n.admin_json("GET", "/admin/v1/ledger?date=" + date);
  INFO(ledger.dump());
  CHECK(ledger.value("date", "") == date);
  bool found1 = false, found2 = false;
  for (auto& row : ledger.at("rows")) {
    for (auto key : {"request_id", "certificate_number", "certificate_type", "fiscal_year",
                     "issued_at", "store_code", "terminal_id", "outcome"})
      CHECK(row.contains(key));
    if (row.value("request_id", "") == ip.request_id) {
      found1 = true;
      CHECK(row.value("certificate_number", "") == number);
      CHECK(row.value("outcome", "") == "printed");
      CHECK(row.value("certificate_type", "") == "income_tax");
      CHECK(row.value("fiscal_year", 0) == 2025);
      CHECK(row.value("store_code", "") == "S0009999");
      CHECK(row.value("terminal_id", "") == "T07");
    }
    if (row.value("request_id", "") == ip2.request_id) {
      found2 = true;
      CHECK(row.value("outcome", "") == "none");
    }
  }
  CHECK(found1);
  CHECK(found2);
  CHECK(ledger["totals"]["income_tax"].value("printed", 0) >= 1);
  CHECK(ledger["totals"]["income_tax"].value("none", 0) >= 1);
  CHECK(ledger.dump().find(people[0].code) == std::string::npos);

  auto csv = n.admin("GET", "/admin/v1/ledger?date=" + date + "&format=csv", n.viewer_token());
  REQUIRE(csv.status == 200);
  CHECK(std::string(*csv.header("Content-Type")).starts_with("text/csv"));
  INFO(csv.body);
  auto header = csv.body.substr(0, csv.body.find('\n'));
  for (auto key : {"request_id", "certificate_number", "certificate_type", "fiscal_year",
                   "issued_at", "store_code", "terminal_id", "outcome"})
    CHECK(header.find(key) != std::string::npos);
  bool csv_row = false;
  std::istringstream lines(csv.body);
  std::string line;
  while (std::getline(lines, line))
    if (line.find(ip.request_id) != std::string::npos) {
      csv_row = true;
      CHECK(line.find(number) != std::string::npos);
      CHECK(line.find("printed") != std::string::npos);
    }
  CHECK(csv_row);
  CHECK(csv.body.find(people[0].code) == std::string::npos);
}

TEST_CASE("Two different outcomes for one request at once: one is 204 and the other 409 "
          "outcome_conflict", "[integration]") {
  node n;
  auto people = n.people().pick(issuable_plain, 1);
  for (int round = 0; round < 10; ++round) {
    INFO("round " << round);
    auto rid = n.next_request_id();
    REQUIRE(n.issue({.request_id = rid, .resident_code = people[0].code}).status == 200);
    start_gate gate(2);
    http_client_response out[2];
    std::string errors[2];
    std::thread threads[2];
    for (int t = 0; t < 2; ++t) {
      threads[t] = std::thread([&, t] {
        try {
          http_client client(n.center_options());
          client.connect();
          gate.arrive_and_wait();
          out[t] = n.outcome(client, rid, t == 0 ? "printed" : "print_failed");
        } catch (const std::exception& e) {
          errors[t] = e.what();
          gate.abort();
        }
      });
    }
    for (auto& th : threads)
      th.join();
    REQUIRE(errors[0].empty());
    REQUIRE(errors[1].empty());
    int ok = 0, conflict = 0;
    for (auto& r : out) {
      ok += r.status == 204;
      conflict += r.status == 409 && code_of(r) == "outcome_conflict";
    }
    CHECK(ok == 1);
    CHECK(conflict == 1);
  }
}

TEST_CASE("A resend of a request aborted in its commit never finds the aborted issuance - each "
          "certificate answered is the one in the ledger, and an aborted request has no row",
          "[integration]") {
  // Group commits 100 ms apart and a 60 ms deadline: a request whose commit waits behind a group
  // that was just written is aborted while committing (its ledger row is written, then undone),
  // and its resend arrives while that undo is still to come.
  node n({.conf = {{"issuance", "deadline_ms", "60"},
                   {"issuance", "commit_interval_us", "100000"},
                   {"render", "workers", "2"}}});
  auto people = n.people().pick(issuable_plain, 6);
  struct answer {
    unsigned status;
    std::string number;
  };
  std::map<std::string, std::vector<answer>> answers; // by request_id
  std::set<std::string> ledger_dates; // of every certificate answered
  auto date_of = [](const std::string& number) {
    return number.substr(0, 4) + "-" + number.substr(4, 2) + "-" + number.substr(6, 2);
  };
  int aborted = 0;
  http_client warm_conn(n.center_options()), conn(n.center_options());
  for (int round = 0; round < 8; ++round) {
    // Let the logger go idle, then a request whose group is written at once.
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    auto warm = n.issue(warm_conn, {.request_id = n.next_request_id(),
                                    .resident_code = people[round % 3].code});
    issue_params p{.request_id = n.next_request_id(), .resident_code = people[3 + round % 3].code};
    auto first = n.issue(conn, p);
    auto& seen = answers[p.request_id];
    seen.push_back({first.status, number_of(first)});
    for (auto& a : {warm, first})
      if (a.status == 200)
        ledger_dates.insert(date_of(number_of(a)));
    if (first.status == 200)
      continue;
    ++aborted;
    INFO(first.body);
    CHECK(first.status == 500);
    // The aborted session is still live (it undoes its commit), shown by what it does.
    auto live = n.admin_json("GET", "/admin/v1/sessions");
    INFO(live.dump());
    int64_t shown = 0;
    for (auto& [state, count] : live.at("by_state").items()) {
      CHECK(std::set<std::string>{"waiting", "checking", "rendering", "committing", "sending",
                                  "finishing"}
              .count(state)
            == 1);
      shown += count.get<int64_t>();
    }
    CHECK(shown == live.value("count", int64_t{-1}));
    // At once, then after the aborted session must have ended.
    for (int resend = 0; resend < 2; ++resend) {
      auto again = n.issue(conn, p);
      INFO(again.body);
      CHECK((again.status == 200 || again.status == 500));
      seen.push_back({again.status, number_of(again)});
      if (again.status == 200) {
        ledger_dates.insert(date_of(number_of(again)));
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
  }
  WARN("resend: " << aborted << " of 8 first requests aborted");
  REQUIRE(aborted > 0);

  // What the center was answered, against what the ledger says once every session has ended.
  bool drained = false;
  for (int i = 0; i < 500 && !drained; ++i) {
    drained = n.admin_json("GET", "/admin/v1/sessions").value("count", -1) == 0;
    if (!drained)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(drained);
  std::map<std::string, std::string> ledger; // request_id -> certificate number
  for (auto& date : ledger_dates) {
    auto day = n.admin_json("GET", "/admin/v1/ledger?date=" + date);
    for (auto& row : day.at("rows"))
      ledger[row.value("request_id", "")] = row.value("certificate_number", "");
  }
  http_client c(n.center_options());
  for (auto& [rid, seen] : answers) {
    std::set<std::string> certificates;
    for (auto& a : seen)
      if (a.status == 200)
        certificates.insert(a.number);
    INFO(rid << ": " << seen.size() << " answers, " << certificates.size() << " certificates");
    CHECK(certificates.size() <= 1);
    auto o = n.outcome(c, rid, "printed");
    if (certificates.empty()) {
      CHECK(o.status == 404);
      CHECK(ledger.count(rid) == 0);
    } else {
      CHECK(o.status == 204);
      CHECK(ledger[rid] == *certificates.begin());
    }
  }
}
