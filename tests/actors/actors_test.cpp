#include <catch2/catch.hpp>

#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <thread>

#include "actors/audit_logger.hpp"
#include "actors/deadline_clock.hpp"
#include "actors/deletion_timer.hpp"
#include "actors/feed_registry.hpp"
#include "actors/render_pool.hpp"
#include "actors/supervisor.hpp"
#include "certificate/certificate.hpp"
#include "storage/audit_chain.hpp"
#include "../storage/test_util.hpp"

using namespace kofu;

namespace {

config::node_config test_config(const std::string& dir) {
  auto text = "[node]\ndata_dir = " + dir + "/db\nmayor_name = 見本　花子\n"
              "[center]\ntls_cert_file = x\ntls_key_file = x\nclient_ca_file = x\n"
              "[render]\nworkers = 2\nseal_png_file = "
              + std::string(KOFU_SOURCE_DIR) + "/certificate/assets/demo_seal.png\n"
              "[supervisor]\nrestarts_max = 2\nrestart_window_s = 60\n";
  return config::parse_config(text, "test.conf");
}

/// A node context on a temporary database, with the fonts loaded, and an actor system.
struct actor_fixture {
  test::temp_dir dir;
  node_context_ptr ctx;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;

  actor_fixture() {
    auto c = test_config(dir.str());
    auto db = storage::database::open(c.node.data_dir, storage::key256::random());
    ctx = std::make_shared<node_context>(std::move(c), std::move(db));
    certificate::layout_config layout;
    layout.city_name = ctx->cfg.node.city_name;
    layout.mayor_name = ctx->cfg.node.mayor_name;
    layout.prefecture_tax_word = ctx->cfg.node.prefecture_tax_word;
    layout.seal_png_path = ctx->cfg.render.seal_png_file;
    ctx->fonts = certificate::load_fonts(layout);
    cfg.add_error_category(error_category_atom, render_error);
    sys = std::make_unique<caf::actor_system>(cfg);
    ctx->system = sys.get();
  }

  ~actor_fixture() {
    sys->registry().erase(audit_name::value);
    sys->registry().erase(render_name::value);
    sys->registry().erase(issuance_name::value);
    sys->registry().erase(feeds_name::value);
    sys->registry().erase(timer_name::value);
  }
};

render_job sample_job(const std::string& code, const std::string& name, const std::string& number) {
  auto sample = certificate::sample_input();
  render_job job{sample.resident, sample.tax, number, sample.issue_date};
  job.resident.resident_code = code;
  job.resident.name = name;
  job.tax.resident_code = code;
  return job;
}

} // namespace

TEST_CASE("the render pool renders each job for its own requester") {
  actor_fixture f;
  auto pool = f.sys->spawn(render_pool, f.ctx);
  caf::scoped_actor self{*f.sys};
  std::vector<std::string> numbers;
  for (int i = 1; i <= 6; ++i)
    numbers.push_back("20261128-00000" + std::to_string(i));
  for (auto& n : numbers) {
    self->request(pool, std::chrono::seconds(30), render_atom::value,
                  sample_job("12345678901", "見本　太郎", n))
      .receive(
        [&](rendered_pdf& pdf) {
          CHECK(pdf.bytes.size() > 1000);
          CHECK(pdf.bytes.view().substr(0, 5) == "%PDF-");
        },
        [&](caf::error& e) { FAIL("render failed: " << to_string(e)); });
  }
  self->send_exit(pool, caf::exit_reason::user_shutdown);
}

TEST_CASE("a character no font can draw fails the render with an error, not a PDF") {
  actor_fixture f;
  auto pool = f.sys->spawn(render_pool, f.ctx);
  caf::scoped_actor self{*f.sys};
  self->request(pool, std::chrono::seconds(30), render_atom::value,
                sample_job("12345678901", "\xEE\x80\x80", "20261128-000001")) // U+E000
    .receive([&](rendered_pdf&) { FAIL("a PDF for an unrenderable name"); },
             [&](caf::error& e) { CHECK(error_code(e) == ec::unrenderable); });
  self->send_exit(pool, caf::exit_reason::user_shutdown);
}

TEST_CASE("the audit logger appends concurrent batches into one verifiable chain") {
  actor_fixture f;
  auto audit = f.sys->spawn<caf::detached>(audit_logger, f.ctx);
  caf::scoped_actor self{*f.sys};
  constexpr int batches = 200;
  for (int i = 0; i < batches; ++i) {
    auto e = audit_event("center", "issuance", "ok");
    e.request_id = "R" + std::to_string(i);
    self->send(audit, append_atom::value, audit_batch{{e}, {}});
  }
  int answered = 0;
  self->receive_for(answered, batches)(
    [&](uint64_t seq) { CHECK(seq >= 1); },
    [&](caf::error& e) { FAIL(to_string(e)); });
  auto r = storage::verify_chain(*f.ctx->db, f.ctx->audit_key);
  CHECK(r.ok);
  CHECK(r.entries == batches);
  self->send_exit(audit, caf::exit_reason::user_shutdown);
}

TEST_CASE("the audit logger starts group commits issuance.commit_interval_us apart, an idle one "
          "at once") {
  actor_fixture f;
  f.ctx->cfg.issuance.commit_interval_us = 300'000;
  auto audit = f.sys->spawn<caf::detached>(audit_logger, f.ctx);
  caf::scoped_actor self{*f.sys};
  auto append = [&](const std::string& rid) {
    auto e = audit_event("center", "issuance", "ok");
    e.request_id = rid;
    self->send(audit, append_atom::value, audit_batch{{e}, {}});
  };
  auto wait_answers = [&](int n) {
    int answered = 0;
    self->receive_for(answered, n)([&](uint64_t) {}, [&](caf::error& e) { FAIL(to_string(e)); });
  };
  // An idle logger writes at once.
  auto started = std::chrono::steady_clock::now();
  append("first");
  wait_answers(1);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::milliseconds(250));
  // What comes within the interval waits for its end, and goes in one group.
  for (int i = 0; i < 20; ++i)
    append("R" + std::to_string(i));
  wait_answers(20);
  CHECK(std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(300));
  CHECK(f.ctx->metrics.render().find("kofu_audit_commit_duration_seconds_count 2\n")
        != std::string::npos);
  auto r = storage::verify_chain(*f.ctx->db, f.ctx->audit_key);
  CHECK(r.ok);
  CHECK(r.entries == 21);
  self->send_exit(audit, caf::exit_reason::user_shutdown);
}

TEST_CASE("the deletion timer cuts the audit head through the logger: the chain verifies after "
          "the logger's next groups and after a restart") {
  actor_fixture f;
  auto audit = f.sys->spawn<caf::detached>(audit_logger, f.ctx);
  f.sys->registry().put(audit_name::value, caf::actor_cast<caf::strong_actor_ptr>(audit));
  caf::scoped_actor self{*f.sys};
  auto append = [&](const std::string& time) {
    auto e = audit_event("center", "issuance", "ok");
    if (!time.empty())
      e.time = time;
    self->request(audit, caf::infinite, append_atom::value, audit_batch{{e}, {}})
      .receive([](uint64_t) {}, [](caf::error& e) { FAIL(to_string(e)); });
  };
  // Three entries past retention.audit_days (1,827 days by default), two within it.
  for (int i = 0; i < 3; ++i)
    append("2019-04-01T09:00:00.000+09:00");
  append("");
  append("");
  auto timer = f.sys->spawn(deletion_timer, f.ctx);
  // The timer's first tick cuts the head and appends its own audit_retention entry.
  bool cut = false;
  for (int i = 0; i < 500 && !cut; ++i) {
    auto r = storage::verify_chain(*f.ctx->db, f.ctx->audit_key);
    cut = r.ok && r.entries == 3 && storage::load_audit_state(*f.ctx->db).first_seq == 4;
    if (!cut)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(cut);
  self->send_exit(timer, caf::exit_reason::user_shutdown);
  append("");
  auto r = storage::verify_chain(*f.ctx->db, f.ctx->audit_key);
  INFO(r.reason);
  CHECK(r.ok);
  CHECK(r.entries == 4);
  auto entries = storage::query_audit(*f.ctx->db, "", "", "", 10);
  REQUIRE(entries.size() == 4);
  CHECK(entries[2].event == "audit_retention");
  // A restarted logger goes on from the cut head.
  self->send_exit(audit, caf::exit_reason::user_shutdown);
  self->wait_for(audit);
  audit = f.sys->spawn<caf::detached>(audit_logger, f.ctx);
  append("");
  r = storage::verify_chain(*f.ctx->db, f.ctx->audit_key);
  CHECK(r.ok);
  CHECK(r.entries == 5);
  self->send_exit(audit, caf::exit_reason::user_shutdown);
}

TEST_CASE("at start, tax years past retention that are still loaded are destroyed and audited") {
  actor_fixture f;
  auto& db = *f.ctx->db;
  for (int32_t year : {2024, 2025}) {
    auto t = db.begin_feed(storage::dataset::tax, year, true, 1);
    t->put(test::sample_tax("12345678901", year, 1));
    t->put(test::sample_tax("10987654321", year, 2));
    t->commit();
  }
  db.rollover(2025, 2); // both kept
  f.ctx->cfg.retention.fiscal_years = 2;
  CHECK(destroy_expired_years(*f.ctx).empty());
  // Retention made shorter (or a rollover to 2025 with retention 1 that a crash cut short).
  f.ctx->cfg.retention.fiscal_years = 1;
  auto destroyed = destroy_expired_years(*f.ctx);
  CHECK(destroyed == std::map<int32_t, uint64_t>{{2024, 2}});
  CHECK(db.loaded_tax_years() == std::vector<int32_t>{2025});
  CHECK(db.open_fiscal_year() == 2025);
  CHECK(destroy_expired_years(*f.ctx).empty());
  CHECK(db.tax_kept_from() == 2025);
  // Retention made longer again: 2024 may be loaded again (the bound follows the config at start).
  f.ctx->cfg.retention.fiscal_years = 2;
  CHECK(destroy_expired_years(*f.ctx).empty());
  CHECK(db.tax_kept_from() == 2024);
  auto r = storage::verify_chain(db, f.ctx->audit_key);
  CHECK(r.ok);
  auto entries = storage::query_audit(db, "", "", "", 10);
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].event == "rollover_finished");
}

TEST_CASE("the deadline clock fires each deadline when due, for a live target, unless cancelled") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  std::mutex m;
  std::vector<std::pair<caf::actor_addr, std::chrono::steady_clock::time_point>> fired;
  deadline_clock clock([&](const caf::strong_actor_ptr& target) {
    std::lock_guard guard(m);
    fired.emplace_back(caf::actor_cast<caf::actor_addr>(target), std::chrono::steady_clock::now());
  });
  // (An argument: CAF 0.17 binds a reference to a null tuple for an actor spawned without one,
  // which UBSan reports.)
  auto idle = [](caf::event_based_actor*, int) -> caf::behavior { return {[](int) {}}; };
  auto a = sys.spawn(idle, 0), b = sys.spawn(idle, 0), c = sys.spawn(idle, 0),
       gone = sys.spawn(idle, 0);
  auto weak = [](const caf::actor& x) { return caf::actor_cast<caf::weak_actor_ptr>(x); };
  auto now = std::chrono::steady_clock::now();
  using ms = std::chrono::milliseconds;
  // Armed late but due first: the clock wakes for it.
  auto ta = clock.arm(weak(a), now + ms(400));
  auto tb = clock.arm(weak(b), now + ms(100));
  auto tc = clock.arm(weak(c), now + ms(200));
  auto tg = clock.arm(weak(gone), now + ms(150));
  tc->cancel();
  caf::anon_send_exit(gone, caf::exit_reason::user_shutdown);
  gone = nullptr;
  std::this_thread::sleep_for(ms(700));
  std::lock_guard guard(m);
  REQUIRE(fired.size() == 2);
  CHECK(fired[0].first == b.address());
  CHECK(fired[0].second >= now + ms(100));
  CHECK(fired[0].second < now + ms(350)); // not held back until the later one armed before it
  CHECK(fired[1].first == a.address());
  CHECK(fired[1].second >= now + ms(400));
  CHECK(clock.size() == 0);
  // Sessions that end long before their deadline leave nothing behind to hold memory until then.
  for (int i = 0; i < 1000; ++i)
    clock.arm(weak(a), std::chrono::steady_clock::now() + std::chrono::seconds(60))->cancel();
  CHECK(clock.size() <= 1);
  for (auto* x : {&a, &b, &c})
    caf::anon_send_exit(*x, caf::exit_reason::user_shutdown);
}

TEST_CASE("render lanes: the least busy worker, the bound on all jobs, a replaced worker's jobs "
          "dropped") {
  std::atomic<uint32_t> depth{0};
  render_lanes lanes(depth);
  CHECK(lanes.take(10).error == ec::internal_error); // no worker runs
  auto l0 = render_lanes::make_lane(), l1 = render_lanes::make_lane();
  lanes.install(7, 0, render_actor{}, l0);
  lanes.install(7, 1, render_actor{}, l1);
  for (int i = 0; i < 3; ++i)
    REQUIRE(lanes.take(3).error == ec::none);
  CHECK(depth.load() == 3);
  CHECK(l0->jobs + l1->jobs == 3);
  CHECK((l0->jobs == 2 || l1->jobs == 2)); // spread: 2 and 1
  CHECK(lanes.take(3).error == ec::overloaded);
  auto busier = l0->jobs == 2 ? l0 : l1;
  lanes.done(busier);
  CHECK(depth.load() == 2);
  CHECK(lanes.take(3).error == ec::none); // back under the bound
  // Worker 0 dies and is replaced: what it held no longer counts, and its late answers neither.
  auto held = l0->jobs;
  auto l0b = render_lanes::make_lane();
  lanes.install(7, 0, render_actor{}, l0b);
  CHECK(depth.load() == 3 - held);
  lanes.done(l0);
  CHECK(depth.load() == 3 - held);
  // A pool that ended takes only its own lanes away.
  lanes.clear(8);
  CHECK(lanes.take(100).error == ec::none);
  lanes.clear(7);
  CHECK(lanes.take(100).error == ec::internal_error);
  CHECK(depth.load() == 0);
}

TEST_CASE("the supervisor restarts a crashed child and gives up past its budget") {
  actor_fixture f;
  auto root = f.sys->spawn(supervisor, f.ctx, node_children(f.ctx));
  caf::scoped_actor self{*f.sys};
  self->monitor(root);
  auto current = [&] { return f.sys->registry().get(timer_name::value); };
  auto wait_for_new = [&](const caf::strong_actor_ptr& old) {
    for (int i = 0; i < 500; ++i) {
      auto now = current();
      if (now && now != old)
        return now;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return caf::strong_actor_ptr{};
  };
  auto first = wait_for_new(nullptr);
  REQUIRE(first);
  for (int restart = 0; restart < 2; ++restart) {
    auto before = current();
    caf::anon_send_exit(before, caf::exit_reason::kill);
    auto after = wait_for_new(before);
    REQUIRE(after);
  }
  // The third crash within the window is past restarts_max = 2: the node stops with an error.
  caf::anon_send_exit(current(), caf::exit_reason::kill);
  self->receive(
    [&](caf::down_msg& dm) {
      CHECK(dm.source == root.address());
      CHECK(dm.reason);
    },
    caf::after(std::chrono::seconds(10)) >> [&] { FAIL("the supervisor did not stop"); });
  CHECK(f.ctx->metrics.render().find("kofu_actor_restarts_total{actor=\"deletion_timer\"} 2")
        != std::string::npos);
}

TEST_CASE("a crashed render worker is replaced and the job it held fails with an error") {
  actor_fixture f;
  auto pool = f.sys->spawn(render_pool, f.ctx);
  caf::scoped_actor self{*f.sys};
  // The crash lands in the first worker's mailbox before the job that goes to it.
  self->send(pool, crash_atom::value);
  std::vector<std::string> outcomes;
  for (int i = 1; i <= 2; ++i)
    self->request(pool, std::chrono::seconds(30), render_atom::value,
                  sample_job("12345678901", "見本　太郎", "20261128-00000" + std::to_string(i)))
      .receive([&](rendered_pdf& pdf) { outcomes.push_back(pdf.bytes.empty() ? "empty" : "pdf"); },
               [&](caf::error&) { outcomes.push_back("error"); });
  // The first job went to the dead worker (the least busy, first of two): it failed with an error;
  // the second rendered on the other worker.
  REQUIRE(outcomes.size() == 2);
  CHECK(outcomes[0] == "error");
  CHECK(outcomes[1] == "pdf");
  // The pool has replaced the worker: every later job renders.
  for (int i = 0; i < 6; ++i)
    self->request(pool, std::chrono::seconds(30), render_atom::value,
                  sample_job("12345678901", "見本　太郎", "20261128-00010" + std::to_string(i)))
      .receive([&](rendered_pdf& pdf) { CHECK(pdf.bytes.size() > 1000); },
               [&](caf::error& e) { FAIL("render after the restart failed: " << to_string(e)); });
  // Counted by the pool when it handles the worker's exit, which the jobs above need not wait
  // for (the other worker takes them meanwhile).
  bool counted = false;
  for (int i = 0; i < 500 && !counted; ++i) {
    counted = f.ctx->metrics.render().find("kofu_actor_restarts_total{actor=\"render_worker\"} 1")
              != std::string::npos;
    if (!counted)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(counted);
  self->send_exit(pool, caf::exit_reason::user_shutdown);
}

TEST_CASE("session slots: at most issuance.sessions_max taken, each given back with its last copy") {
  actor_fixture f;
  f.ctx->cfg.issuance.sessions_max = 3;
  std::vector<session_slot_ptr> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(session_slot::take(f.ctx));
    REQUIRE(held.back() != nullptr);
  }
  CHECK(session_slot::take(f.ctx) == nullptr); // the fourth request is refused at once
  CHECK(f.ctx->live_sessions.load() == 3);     // and a refusal leaves the count as it was
  auto copy = held.front();                    // e.g. a message still carrying it
  held.erase(held.begin());
  CHECK(session_slot::take(f.ctx) == nullptr);
  copy.reset();
  CHECK(f.ctx->live_sessions.load() == 2);
  auto again = session_slot::take(f.ctx);
  CHECK(again != nullptr);
  held.clear();
  again.reset();
  CHECK(f.ctx->live_sessions.load() == 0);
}

TEST_CASE("at start a feed stopped in progress is rejected unless its commit had landed") {
  test::temp_dir dir;
  auto db = storage::database::open(dir.str() + "/db", storage::key256::random());
  {
    auto s = db->begin_feed(storage::dataset::residents, std::nullopt, true, 2);
    s->put(test::sample_resident("12345678901", "甲"));
    s->commit();
  }
  feed_registry feeds(*db);
  auto in_progress = [&](uint64_t sequence) {
    auto id = feeds.create("upload", "operator");
    feeds.update(
      id,
      [&](feed_status& s) {
        s.state = "applying";
        s.kind = "residents";
        s.sequence = sequence;
      },
      true);
    return id;
  };
  auto landed = in_progress(2); // stopped after its commit, while removing who left
  auto cut = in_progress(3);    // stopped before its commit
  auto queued = feeds.create("inbox", "inbox");
  feed_registry restarted(*db); // what the next start finds
  auto closed = restarted.close_interrupted();
  CHECK(closed == std::vector<uint64_t>{queued, cut}); // newest first
  CHECK(restarted.get(landed)->state == "applied");
  CHECK(restarted.get(landed)->errors.empty());
  for (auto id : {cut, queued}) {
    auto s = restarted.get(id);
    CHECK(s->state == "rejected");
    REQUIRE(s->errors.size() == 1);
    CHECK(s->errors[0].line == 1);
    CHECK(s->errors[0].message.find("interrupted") == 0);
  }
}

TEST_CASE("the deletion timer finishes a removal of residents who left that a crash interrupted") {
  actor_fixture f;
  auto& db = *f.ctx->db;
  const std::string gone = "12345678901", stays = "10987654321";
  {
    auto s = db.begin_feed(storage::dataset::residents, std::nullopt, true, 1);
    s->put(test::sample_resident(gone, "甲"));
    s->put(test::sample_resident(stays, "乙"));
    s->commit();
    auto t = db.begin_feed(storage::dataset::tax, 2025, true, 1);
    t->put(test::sample_tax(gone, 2025, 1));
    t->put(test::sample_tax(stays, 2025, 2));
    t->commit();
    // The residents feed that says `gone` left is committed; the removal after it never ran.
    auto r = db.begin_feed(storage::dataset::residents, std::nullopt, true, 2);
    r->put(test::sample_resident(stays, "乙"));
    r->departed(db.code_mac(gone));
    r->commit();
  }
  REQUIRE(db.tax(*db.take_snapshot(), 2025, gone).has_value());
  caf::scoped_actor self{*f.sys};
  auto timer = f.sys->spawn<caf::detached>(deletion_timer, f.ctx);
  // Its first tick, at start, removes what the feed's commit recorded.
  bool removed = false;
  for (int i = 0; i < 500 && !removed; ++i) {
    removed = !db.tax(*db.take_snapshot(), 2025, gone).has_value();
    if (!removed)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(removed);
  CHECK(db.tax(*db.take_snapshot(), 2025, stays).has_value());
  self->send_exit(timer, caf::exit_reason::user_shutdown);
  self->wait_for(timer);
}
