// Limits of center-api.md: the redelivery window and 503 overloaded.

#include <catch2/catch.hpp>

#include <thread>

#include "node_fixture.hpp"

using namespace kofu::it;

namespace {

std::string code_of(const http_client_response& r) {
  auto j = json::parse(r.body, nullptr, false);
  return j.is_object() ? j.value("code", "") : "";
}

} // namespace

TEST_CASE("Same request_id after issuance.redelivery_window_s is 409 request_conflict",
          "[integration]") {
  node n({.conf = {{"issuance", "redelivery_window_s", "1"}}});
  auto p = n.people().one([](const person& x) { return x.issuable(); });
  issue_params ip{.request_id = n.next_request_id(), .resident_code = p.code};
  auto a = n.issue(ip);
  REQUIRE(a.status == 200);
  // The window is a time span: nothing to poll for but the clock.
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  auto b = n.issue(ip);
  CHECK(b.status == 409);
  CHECK(code_of(b) == "request_conflict");
}

TEST_CASE("Past issuance.sessions_max or render.queue_max the answer is 503 overloaded with "
          "Retry-After 1 at once", "[integration]") {
  std::vector<std::tuple<std::string, std::string, std::string>> conf;
  SECTION("issuance.sessions_max") {
    conf = {{"issuance", "sessions_max", "1"}, {"render", "workers", "1"}};
  }
  SECTION("render.queue_max") {
    conf = {{"render", "queue_max", "1"}, {"render", "workers", "1"}};
  }
  node n({.conf = conf});
  auto people = n.people().pick([](const person& x) { return x.issuable(); }, 4);
  const int burst = 8;
  int overloaded = 0, ok = 0;
  for (int round = 0; round < 10 && overloaded == 0; ++round) {
    start_gate gate(burst);
    std::vector<http_client_response> out(burst);
    std::vector<std::string> errs(burst);
    std::vector<std::string> rids;
    for (int t = 0; t < burst; ++t)
      rids.push_back(n.next_request_id());
    std::vector<std::thread> threads;
    for (int t = 0; t < burst; ++t)
      threads.emplace_back([&, t] {
        try {
          http_client c(n.center_options());
          c.connect();
          gate.arrive_and_wait();
          out[t] = n.issue(c, {.request_id = rids[t], .resident_code = people[t % 4].code});
        } catch (const std::exception& e) {
          errs[t] = e.what();
          gate.abort();
        }
      });
    for (auto& th : threads)
      th.join();
    for (int t = 0; t < burst; ++t) {
      auto& r = out[t];
      INFO("error " << errs[t] << " status " << r.status << " " << r.body.substr(0, 200));
      REQUIRE(errs[t].empty());
      if (r.status == 200) {
        ++ok;
        CHECK(r.body.starts_with("%PDF"));
        continue;
      }
      CHECK(r.status == 503);
      CHECK(code_of(r) == "overloaded");
      CHECK(r.header("Retry-After").value_or("") == "1");
      ++overloaded;
    }
  }
  CHECK(overloaded > 0);
  CHECK(ok > 0);
  // Once the load is gone, the node serves again.
  CHECK(n.issue({.request_id = n.next_request_id(), .resident_code = people[0].code}).status
        == 200);
}
