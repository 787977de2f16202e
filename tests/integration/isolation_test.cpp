// Timing and isolation (center-api.md): concurrent requests never mix, a hold applies at once,
// the deadline aborts a request as a whole.

#include <catch2/catch.hpp>

#include <mutex>
#include <set>
#include <thread>

#include "node_fixture.hpp"

using namespace kofu::it;
using clock_type = std::chrono::steady_clock;

namespace {

std::string code_of(const http_client_response& r) {
  auto j = json::parse(r.body, nullptr, false);
  return j.is_object() ? j.value("code", "") : "";
}

/// Issues for one resident in a loop on one keep-alive connection, recording when each request
/// was sent and what came back.
class stream {
public:
  struct sample {
    clock_type::time_point sent;
    unsigned status = 0;
    std::string code;
  };

  stream(node& n, std::string resident_code) : n_(n), code_(std::move(resident_code)) {
    thread_ = std::thread([this] { run(); });
  }
  ~stream() { stop(); }

  void stop() {
    stop_ = true;
    if (thread_.joinable())
      thread_.join();
  }

  /// Waits (bounded) until `pred(samples)` holds.
  bool wait(const std::function<bool(const std::vector<sample>&)>& pred,
            std::chrono::seconds bound = std::chrono::seconds(30)) {
    auto deadline = clock_type::now() + bound;
    while (clock_type::now() < deadline) {
      {
        std::lock_guard g(mutex_);
        if (pred(samples_))
          return true;
        if (!error_.empty())
          return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

  std::vector<sample> samples() {
    std::lock_guard g(mutex_);
    return samples_;
  }
  std::string error() {
    std::lock_guard g(mutex_);
    return error_;
  }

private:
  void run() {
    try {
      http_client c(n_.center_options());
      int i = 0;
      while (!stop_) {
        issue_params ip{.request_id = "S" + code_ + "-" + std::to_string(++i), .resident_code = code_};
        sample s;
        s.sent = clock_type::now();
        auto r = n_.issue(c, ip);
        s.status = r.status;
        s.code = code_of(r);
        std::lock_guard g(mutex_);
        samples_.push_back(std::move(s));
      }
    } catch (const std::exception& e) {
      std::lock_guard g(mutex_);
      error_ = e.what();
    }
  }

  node& n_;
  std::string code_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<sample> samples_;
  std::string error_;
  std::thread thread_;
};

size_t count_after(const std::vector<stream::sample>& s, clock_type::time_point t) {
  size_t n = 0;
  for (auto& x : s)
    n += x.sent > t;
  return n;
}

} // namespace

TEST_CASE("A certificate is built only from the data of the resident named in its own request: "
          "two requests arriving together never mix", "[integration]") {
  node n;
  // Persons with names that do not contain each other, with plain names (main font).
  std::vector<person> candidates;
  std::set<std::string> name_words, addresses;
  for (auto& p : n.people().persons) {
    if (!p.issuable() || !p.plain_name() || p.address_jan1.empty())
      continue;
    auto w = words(p.name);
    bool fresh = !addresses.contains(p.address_jan1);
    for (auto& x : w)
      fresh = fresh && !name_words.contains(x);
    if (!fresh)
      continue;
    name_words.insert(w.begin(), w.end());
    addresses.insert(p.address_jan1);
    candidates.push_back(p);
    if (candidates.size() == 16)
      break;
  }
  REQUIRE(candidates.size() == 16);
  const size_t pairs_max = 500;
  const auto time_budget = std::chrono::seconds(30);
  struct result {
    size_t self = 0, other = 0;
    unsigned status = 0;
    std::string pdf, number, error;
  };
  std::vector<result> results[2];
  start_gate gate(2);
  std::atomic<bool> out_of_time{false};
  auto started = clock_type::now();
  std::atomic<size_t> rounds{0};
  auto worker = [&](int t) {
    try {
      http_client c(n.center_options());
      c.connect();
      for (size_t i = 0; i < pairs_max; ++i) {
        // Both threads agree on whether to go on: decided before the gate by thread 0.
        if (!gate.arrive_and_wait() || out_of_time.load())
          return;
        size_t a = (2 * i) % candidates.size(), b = (2 * i + 1) % candidates.size();
        size_t self = t == 0 ? a : b, other = t == 0 ? b : a;
        result r;
        r.self = self;
        r.other = other;
        auto resp = n.issue(c, {.request_id = "I" + std::to_string(t) + "-" + std::to_string(i),
                                .resident_code = candidates[self].code});
        r.status = resp.status;
        if (auto h = resp.header("Kofu-Certificate-Number"))
          r.number = std::string(*h);
        r.pdf = std::move(resp.body);
        results[t].push_back(std::move(r));
        if (!gate.arrive_and_wait())
          return;
        if (t == 0) {
          rounds = i + 1;
          if (clock_type::now() - started > time_budget)
            out_of_time = true;
        }
      }
      gate.arrive_and_wait();
    } catch (const std::exception& e) {
      result r;
      r.error = e.what();
      results[t].push_back(std::move(r));
      out_of_time = true;
      gate.abort();
    }
  };
  std::thread t0(worker, 0), t1(worker, 1);
  t0.join();
  t1.join();
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - started);
  WARN("isolation: " << rounds.load() << " pairs in " << elapsed.count() << " ms");
  CHECK(rounds.load() >= 50);

  std::set<std::string> numbers;
  size_t checked = 0;
  for (int t = 0; t < 2; ++t) {
    for (auto& r : results[t]) {
      INFO("thread " << t << " error " << r.error << " status " << r.status);
      REQUIRE(r.error.empty());
      REQUIRE(r.status == 200);
      CHECK(numbers.insert(r.number).second); // never a shared certificate number
      auto text = squeeze(pdf_text(r.pdf));
      auto& self = candidates[r.self];
      auto& other = candidates[r.other];
      INFO("self " << self.index << " other " << other.index);
      CHECK(has_name(text, self.name));
      CHECK(text.find(squeeze(self.address_jan1)) != std::string::npos);
      CHECK(text.find(r.number) != std::string::npos);
      for (auto& w : words(other.name))
        CHECK(text.find(w) == std::string::npos);
      CHECK(text.find(squeeze(other.address_jan1)) == std::string::npos);
      ++checked;
    }
  }
  CHECK(checked == 2 * rounds.load());
}

TEST_CASE("An issuance hold applies at once: a manual hold (PUT /admin/v1/holds) and a residents "
          "delta feed", "[integration]") {
  node n;
  auto two = n.people().pick(
    [](const person& p) {
      return p.issuable() && p.plain_name() && p.raw_line.ends_with(",active,,")
             && p.raw_line.find('"') == std::string::npos;
    },
    2);
  auto& x = two[0];
  auto& y = two[1];

  SECTION("manual hold while requests stream") {
    stream s(n, x.code);
    REQUIRE(s.wait([](auto& v) {
      size_t ok = 0;
      for (auto& e : v)
        ok += e.status == 200;
      return ok >= 3;
    }));
    n.admin_json("PUT", "/admin/v1/holds/" + x.code, R"({"reason": "発行停止"})", 204);
    auto put_returned = clock_type::now();
    REQUIRE(s.wait([&](auto& v) { return count_after(v, put_returned) >= 10; }));
    s.stop();
    INFO("stream error: " << s.error());
    for (auto& e : s.samples()) {
      if (e.sent <= put_returned) {
        CHECK((e.status == 200 || (e.status == 422 && e.code == "not_issuable")));
        continue;
      }
      CHECK(e.status == 422);
      CHECK(e.code == "not_issuable");
    }
    // Lifted: issuable again; a second lift is 404.
    n.admin_json("DELETE", "/admin/v1/holds/" + x.code, "", 204);
    CHECK(n.issue({.request_id = n.next_request_id(), .resident_code = x.code}).status == 200);
    CHECK(n.admin("DELETE", "/admin/v1/holds/" + x.code, n.operator_token()).status == 404);
  }

  SECTION("a residents delta feed that sets a hold, applied while requests stream") {
    REQUIRE(n.people().residents_columns.ends_with(",hold"));
    auto columns = "op," + n.people().residents_columns;
    auto record = "U," + y.raw_line + "support_measure";
    auto body = columns + "\n" + record + "\n";
    auto feed = std::string("#KOFU-FEED,version=1,kind=residents,mode=delta,municipality=272051,"
                            "sequence=2,encoding=UTF-8,created_at=2025-06-02T02:00:00+09:00\n")
                + body + "#END,records=1,sha256=" + sha256_hex(body) + "\n";
    stream s(n, y.code);
    REQUIRE(s.wait([](auto& v) { return v.size() >= 3; }));
    auto id = n.upload_feed(feed);
    auto st = n.wait_feed(id);
    auto applied_seen = clock_type::now();
    INFO(st.dump());
    REQUIRE(st.value("state", "") == "applied");
    REQUIRE(s.wait([&](auto& v) { return count_after(v, applied_seen) >= 10; }));
    s.stop();
    INFO("stream error: " << s.error());
    for (auto& e : s.samples()) {
      if (e.sent <= applied_seen) {
        CHECK((e.status == 200 || (e.status == 422 && e.code == "not_issuable")));
        continue;
      }
      CHECK(e.status == 422);
      CHECK(e.code == "not_issuable");
    }
    // Others are unaffected by a delta.
    CHECK(n.issue({.request_id = n.next_request_id(), .resident_code = x.code}).status == 200);
  }
}

TEST_CASE("Full residents feeds applied back to back while requests stream in - every answer is "
          "a certificate", "[integration]") {
  // Each full feed makes a new generation and retires the old one, key first. A session whose
  // snapshot still names the old generation when its key goes starts its checks again on a new
  // snapshot instead of failing with 500.
  node n;
  auto people = n.people().pick([](const person& p) { return p.issuable(); }, 8);
  auto residents = read_file(n.feeds_dir() + "/residents.csv");
  std::vector<std::unique_ptr<stream>> streams;
  for (auto& p : people)
    streams.push_back(std::make_unique<stream>(n, p.code));
  for (auto& s : streams)
    REQUIRE(s->wait([](auto& v) { return v.size() >= 3; }));
  auto feeds_began = clock_type::now();
  for (int sequence = 2; sequence <= 51; ++sequence)
    n.load_feed(with_sequence(residents, sequence));
  auto feeds_ended = clock_type::now();
  size_t during = 0;
  for (auto& s : streams) {
    s->stop();
    INFO("stream error: " << s->error());
    CHECK(s->error().empty());
    for (auto& e : s->samples()) {
      during += e.sent > feeds_began && e.sent < feeds_ended;
      INFO("status " << e.status << " " << e.code);
      CHECK(e.status == 200);
    }
  }
  // The requests really ran while the feeds were applied.
  CHECK(during >= 40);
}

TEST_CASE("Every request is answered within issuance.deadline_ms - one that cannot finish is "
          "aborted as a whole", "[integration]") {
  // The shortest deadline the config allows, one render worker, and bursts of requests at once:
  // the later ones of a burst wait for the worker. And group commits 100 ms apart: a request that
  // misses the first commit of a burst cannot be committed in time, however fast the machine, so
  // some are aborted in the middle of their commit (the ledger row is written, then undone).
  node n({.conf = {{"issuance", "deadline_ms", "10"},
                   {"issuance", "commit_interval_us", "100000"},
                   {"render", "workers", "1"}}});
  auto people = n.people().pick([](const person& p) { return p.issuable(); }, 5);
  std::vector<std::pair<std::string, std::string>> failed; // request_id, resident_code
  int errors = 0, answered = 0;
  const int burst = 12;
  for (int round = 0; round < 10 && errors == 0; ++round) {
    start_gate gate(burst);
    std::vector<http_client_response> out(burst);
    std::vector<std::string> rids(burst), errs(burst);
    std::vector<clock_type::duration> took(burst);
    std::vector<std::thread> threads;
    for (int t = 0; t < burst; ++t) {
      rids[t] = n.next_request_id();
      threads.emplace_back([&, t] {
        try {
          http_client c(n.center_options());
          c.connect();
          gate.arrive_and_wait();
          auto started = clock_type::now();
          out[t] = n.issue(c, {.request_id = rids[t], .resident_code = people[t % 5].code});
          took[t] = clock_type::now() - started;
        } catch (const std::exception& e) {
          errs[t] = e.what();
          gate.abort();
        }
      });
    }
    for (auto& th : threads)
      th.join();
    for (int t = 0; t < burst; ++t) {
      auto& r = out[t];
      INFO("error " << errs[t] << " status " << r.status << " " << r.body.substr(0, 200));
      REQUIRE(errs[t].empty());
      ++answered;
      CHECK(took[t] < std::chrono::seconds(5));
      if (r.status == 200) {
        CHECK(r.body.starts_with("%PDF"));
        continue;
      }
      ++errors;
      failed.emplace_back(rids[t], people[t % 5].code);
      CHECK(r.status == 500);
      CHECK(code_of(r) == "internal_error");
      CHECK_FALSE(r.body.starts_with("%PDF"));
      CHECK(std::string(r.header("Content-Type").value_or("")) == "application/problem+json");
    }
  }
  WARN("deadline: " << errors << " of " << answered << " requests timed out");
  REQUIRE(errors > 0);
  // The node keeps serving.
  CHECK(n.alive());
  CHECK(n.admin("GET", "/healthz", "").status == 200);
  // For every aborted request: no issuance that was not undone.
  http_client c(n.center_options());
  for (auto& [rid, code] : failed) {
    CHECK(n.wait_audit(rid, [](const json& entries) {
      int issued = 0, aborted = 0;
      for (auto& e : entries) {
        auto ev = e.value("event", "");
        issued += ev == "issuance" && e.value("outcome", "") == "ok";
        aborted += ev == "issuance_aborted";
      }
      return issued <= aborted;
    }));
    // Never answered with a certificate: no outcome can be reported for it.
    auto o = n.outcome(c, rid, "printed");
    CHECK(o.status == 404);
  }
  // No session is left behind.
  bool drained = false;
  for (int i = 0; i < 500 && !drained; ++i) {
    auto s = n.admin_json("GET", "/admin/v1/sessions");
    drained = s.value("count", -1) == 0;
    if (!drained)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(drained);
  // With a normal deadline the same request ids are processed afresh.
  n.stop();
  n.set_conf("issuance", "deadline_ms", "5000");
  n.start();
  http_client c2(n.center_options());
  auto r = n.issue(c2, {.request_id = failed.at(0).first, .resident_code = failed.at(0).second});
  CHECK(r.status == 200);
}
