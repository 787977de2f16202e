// The data lifecycle promises (data-lifecycle.md), proven on a whole node: nothing personal is
// ever on disk in plaintext, a rolled-over year cannot be read even with the master key, a
// session leaves nothing in storage, and the logs hold no personal data.

#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <thread>

#include "node_fixture.hpp"
#include "storage/database.hpp"
#include "storage/keys.hpp"
#include "storage/master_key.hpp"

using namespace kofu;
using namespace kofu::it;

namespace {

/// The strings of a person that must never be found in plaintext: name parts, kana, address,
/// resident code.
std::vector<std::string> secrets_of(const person& p) {
  std::vector<std::string> out{p.code, p.address};
  for (auto& w : words(p.name))
    if (w.size() >= 6) // two kanji at least: one kanji alone is too common a byte pattern
      out.push_back(w);
  for (auto& w : words(p.name_kana))
    if (w.size() >= 9)
      out.push_back(w);
  return out;
}

/// Every file under `root`, read whole, searched for every secret; returns the first hit.
std::optional<std::string> find_plaintext(const std::string& root,
                                          const std::vector<std::string>& secrets) {
  for (auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file())
      continue;
    auto bytes = read_file(entry.path().string());
    for (auto& s : secrets)
      if (!s.empty() && bytes.find(s) != std::string::npos)
        return entry.path().filename().string() + " holds a secret of " + std::to_string(s.size())
               + " bytes";
  }
  return std::nullopt;
}

} // namespace

TEST_CASE("No personal data on disk or in logs and a rolled-over year is gone", "[integration]") {
  node n({.count = 120});
  // Issue a few certificates, so sessions, ledger and audit have been written.
  auto people = n.people().pick([](const person& p) { return p.issuable(); }, 5);
  for (auto& p : people) {
    auto r = n.issue({.request_id = n.next_request_id(), .resident_code = p.code});
    REQUIRE(r.status == 200);
  }
  // The next year: its tax feed, then the rollover destroys 2025 (retention 1).
  std::string out;
  auto gen = std::string(KOFU_BINARY_DIR) + "/tools/feedgen/kofu-feedgen";
  REQUIRE(run_command(gen + " --kind tax --count 120 --fiscal-year 2026 --sequence 1 --out "
                        + n.feeds_dir() + " 2>&1",
                      &out)
          == 0);
  n.load_feed(read_file(n.feeds_dir() + "/tax-2026.csv"));
  auto rolled = n.rollover(2026);
  // Every tax record of 2025 but those of residents who had left (never stored).
  int64_t kept = 0;
  for (auto& p : n.people().persons)
    kept += p.has_tax && p.active();
  REQUIRE(kept < 120);
  CHECK(rolled["destroyed"]["2025"] == kept);
  REQUIRE(n.stop() == 0);

  std::vector<std::string> secrets;
  for (auto& p : n.people().persons)
    for (auto& s : secrets_of(p))
      secrets.push_back(s);
  REQUIRE(secrets.size() > 300);
  // SST, WAL, MANIFEST, OPTIONS, LOG: nothing in plaintext, ever.
  auto hit = find_plaintext(n.dir() + "/data", secrets);
  CHECK_FALSE(hit.has_value());
  if (hit)
    WARN(*hit);
  // The node's own log: one line per event, no personal data.
  auto log = n.log();
  for (auto& s : secrets)
    CHECK(log.find(s) == std::string::npos);

  // Even with the master key, 2025 cannot be read: its key and its records are gone, and no
  // session left anything behind.
  auto key = storage::load_master_key(n.dir() + "/master.key", true);
  auto db = storage::database::open(n.dir() + "/data", key);
  CHECK(db->loaded_tax_years() == std::vector<int32_t>{2026});
  CHECK_FALSE(db->get(storage::column::meta, storage::keys::data_key_tax(2025, 1)).has_value());
  uint64_t left = 0;
  auto prefix = storage::keys::tax_year_prefix(2025);
  db->scan(storage::column::tax, prefix, storage::keys::prefix_end(prefix),
           [&](std::string_view, std::string_view) {
             ++left;
             return true;
           });
  CHECK(left == 0);
  uint64_t sessions = 0;
  db->scan(storage::column::sessions, storage::keys::id(0), {},
           [&](std::string_view, std::string_view) {
             ++sessions;
             return true;
           });
  CHECK(sessions == 0);
  auto snap = db->take_snapshot();
  CHECK_FALSE(db->tax(*snap, 2025, people[0].code).has_value());
  CHECK(db->tax(*snap, 2026, people[0].code).has_value());
}

TEST_CASE("The audit chain verifies after a kill -9 in the middle of issuing", "[integration]") {
  node n({.count = 60});
  auto people = n.people().pick([](const person& p) { return p.issuable(); }, 10);
  std::atomic<bool> stop{false};
  std::atomic<int> issued{0};
  std::thread load([&] {
    http_client client(n.center_options());
    for (int i = 0; !stop && i < 100'000; ++i) {
      try {
        auto r = n.issue(client, {.request_id = "K" + std::to_string(i),
                                  .resident_code = people[i % people.size()].code});
        if (r.status == 200)
          ++issued;
      } catch (const std::exception&) {
        return; // the node died under us
      }
    }
  });
  for (int i = 0; i < 500 && issued < 20; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  n.crash();
  stop = true;
  load.join();
  REQUIRE(issued >= 1);
  n.start();
  auto verify = n.admin_json("GET", "/admin/v1/audit/verify");
  CHECK(verify["ok"] == true);
  CHECK(verify["entries"].get<int>() >= issued.load());
  // What the dead run's sessions left was swept at start, and the node issues again.
  auto r = n.issue({.request_id = n.next_request_id(), .resident_code = people[0].code});
  CHECK(r.status == 200);
}

TEST_CASE("A resident who moved out goes at once with their tax record and hold - also with a "
          "status_date still to come - and a later tax feed does not bring the record back",
          "[integration]") {
  node n;
  auto x = n.people().one([](const person& p) {
    return p.issuable() && p.raw_line.ends_with(",active,,");
  });
  n.admin_json("PUT", "/admin/v1/holds/" + x.code, R"({"reason": "発行停止"})", 204);
  auto before = n.admin_json("GET", "/admin/v1/status");
  // retention.resident_days is 0 (the default): "at once when the feed says so".
  auto columns = "op," + n.people().residents_columns;
  auto record = "U," + x.raw_line.substr(0, x.raw_line.size() - 8) + "moved_out,2099-01-01,";
  auto body = columns + "\n" + record + "\n";
  n.load_feed(std::string("#KOFU-FEED,version=1,kind=residents,mode=delta,municipality=272051,"
                          "sequence=2,encoding=UTF-8,created_at=2025-06-02T02:00:00+09:00\n")
              + body + "#END,records=1,sha256=" + sha256_hex(body) + "\n");
  auto after = n.admin_json("GET", "/admin/v1/status");
  CHECK(after.value("residents", 0) == before.value("residents", 0) - 1);
  CHECK(after.at("tax_records").value("2025", 0) == before.at("tax_records").value("2025", 0) - 1);
  auto r = n.issue(issue_params{.request_id = n.next_request_id(), .resident_code = x.code});
  CHECK(r.status == 422);
  // The manual hold went with them.
  CHECK(n.admin("DELETE", "/admin/v1/holds/" + x.code, n.operator_token()).status == 404);
  // The tax system delivers the year again, with them in it.
  auto st = n.load_feed(with_sequence(read_file(n.feeds_dir() + "/tax-2025.csv"), 9));
  // x's record, and those of the feed's other residents who had left.
  int64_t left = 0;
  for (auto& p : n.people().persons)
    left += p.has_tax && !p.active();
  CHECK(st.value("records_skipped", int64_t{-1}) == left + 1);
  auto again = n.admin_json("GET", "/admin/v1/status");
  CHECK(again.at("tax_records").value("2025", 0) == after.at("tax_records").value("2025", 0));
}
