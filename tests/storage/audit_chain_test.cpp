#include <catch2/catch.hpp>

#include "storage/audit_chain.hpp"
#include "storage/ledger.hpp"
#include "test_util.hpp"

using namespace kofu;
using namespace kofu::storage;

namespace {

struct chain_fixture {
  test::temp_dir dir;
  std::unique_ptr<database> db = database::open(dir.str() + "/db", key256::random());
  key256 audit_key = db->named_key(audit_key_name);

  void append(int n, const std::string& time = "2026-11-28T10:00:00.000+09:00") {
    auto state = load_audit_state(*db);
    std::vector<audit_entry> entries;
    for (int i = 0; i < n; ++i) {
      audit_entry e;
      e.time = time;
      e.actor = "center";
      e.event = "issuance";
      e.outcome = "ok";
      e.request_id = "R" + std::to_string(state.last_seq + entries.size() + 1);
      entries.push_back(e);
    }
    write_batch b(*db);
    chain_entries(audit_key, state, entries, b);
    db->write(b, true);
  }

  std::string raw(uint64_t seq) { return *db->get(column::audit, keys::id(seq)); }
  void overwrite(uint64_t seq, const std::string& v) { db->put(column::audit, keys::id(seq), v, true); }
};

} // namespace

TEST_CASE("an untouched chain verifies, across reopening") {
  chain_fixture f;
  f.append(5);
  f.append(3);
  auto r = verify_chain(*f.db, f.audit_key);
  CHECK(r.ok);
  CHECK(r.entries == 8);
}

TEST_CASE("a changed entry is found") {
  chain_fixture f;
  f.append(5);
  auto text = f.raw(3);
  auto pos = text.find("\"ok\"");
  REQUIRE(pos != std::string::npos);
  text.replace(pos, 4, "\"no\"");
  f.overwrite(3, text);
  auto r = verify_chain(*f.db, f.audit_key);
  CHECK_FALSE(r.ok);
  CHECK(r.failed_seq == 3);
}

TEST_CASE("a deleted entry is found, in the middle and at the tail") {
  chain_fixture f;
  f.append(5);
  SECTION("middle") {
    f.db->del(column::audit, keys::id(2), true);
    auto r = verify_chain(*f.db, f.audit_key);
    CHECK_FALSE(r.ok);
    CHECK(r.failed_seq == 2);
  }
  SECTION("tail") {
    f.db->del(column::audit, keys::id(5), true);
    CHECK_FALSE(verify_chain(*f.db, f.audit_key).ok);
  }
}

TEST_CASE("reordered entries are found") {
  chain_fixture f;
  f.append(4);
  auto a = f.raw(2);
  auto b = f.raw(3);
  // Swap the bodies but keep each key's seq field consistent with its key.
  auto swap_seq = [](std::string text, uint64_t from, uint64_t to) {
    auto needle = "\"seq\":" + std::to_string(from);
    text.replace(text.find(needle), needle.size(), "\"seq\":" + std::to_string(to));
    return text;
  };
  f.overwrite(2, swap_seq(b, 3, 2));
  f.overwrite(3, swap_seq(a, 2, 3));
  CHECK_FALSE(verify_chain(*f.db, f.audit_key).ok);
}

TEST_CASE("a chain whose key is not the audit key does not verify") {
  chain_fixture f;
  f.append(2);
  CHECK_FALSE(verify_chain(*f.db, key256::random()).ok);
}

TEST_CASE("cutting the head keeps the rest verifiable") {
  chain_fixture f;
  f.append(3, "2020-01-01T00:00:00.000+09:00");
  f.append(2, "2026-11-28T00:00:00.000+09:00");
  auto state = load_audit_state(*f.db);
  CHECK(cut_audit_head(*f.db, state, "2021-01-01T00:00:00.000+09:00") == 3);
  CHECK(state.first_seq == 4);
  auto r = verify_chain(*f.db, f.audit_key);
  CHECK(r.ok);
  CHECK(r.entries == 2);
  CHECK(load_audit_state(*f.db).first_seq == 4);
  f.append(1);
  CHECK(verify_chain(*f.db, f.audit_key).entries == 3);
}

TEST_CASE("an audit query starts at the head and finds an entry a moment out of order near to") {
  chain_fixture f;
  f.append(2, "2020-01-01T00:00:00.000+09:00");
  f.append(1, "2026-11-28T10:00:00.500+09:00");
  // Appended later but stamped earlier (its event came before the group that holds it).
  f.append(1, "2026-11-28T10:00:00.400+09:00");
  // Entries left before the head, as a crash in the middle of a cut leaves them (the head moves
  // first, then the entries go): cut, then put the two cut entries back.
  auto first = f.raw(1), second = f.raw(2);
  auto state = load_audit_state(*f.db);
  REQUIRE(cut_audit_head(*f.db, state, "2021-01-01T00:00:00.000+09:00") == 2);
  f.overwrite(1, first);
  f.overwrite(2, second);
  auto all = query_audit(*f.db, "", "", "", 100);
  REQUIRE(all.size() == 2);
  CHECK(all[0].seq == 3);
  auto before = query_audit(*f.db, "", "2026-11-28T10:00:00.450+09:00", "", 100);
  REQUIRE(before.size() == 1);
  CHECK(before[0].seq == 4);
}

TEST_CASE("certificate numbers are daily, sequential and never reused across a restart") {
  test::temp_dir dir;
  auto master = key256::random();
  civil_date day{2026, 11, 28};
  std::string last;
  {
    auto db = database::open(dir.str() + "/db", master);
    certificate_sequence seq(*db);
    CHECK(seq.next(day) == "20261128-000001");
    CHECK(seq.next(day) == "20261128-000002");
    CHECK(seq.next(civil_date{2026, 11, 29}) == "20261129-000001");
    last = seq.next(day);
  }
  std::string before_crash;
  {
    // Without release_unused (a crash): the rest of the reserved block is skipped, never reused.
    auto db = database::open(dir.str() + "/db", master);
    certificate_sequence seq(*db);
    auto after = seq.next(day);
    CHECK(after > last);
    before_crash = after;
  }
  {
    // A clean stop gives the unused reservation back: the next number follows at once.
    auto db = database::open(dir.str() + "/db", master);
    certificate_sequence seq(*db);
    auto n = seq.next(day);
    CHECK(n > before_crash);
    seq.release_unused();
    seq.release_unused(); // twice changes nothing
    certificate_sequence reopened(*db); // what the next start reads
    CHECK(std::stoul(reopened.next(day).substr(9)) == std::stoul(n.substr(9)) + 1);
  }
}

TEST_CASE("the ledger lists a day's rows and the request record remembers the outcome") {
  test::temp_dir dir;
  auto db = database::open(dir.str() + "/db", key256::random());
  ledger_row row{"C1", "20261128-000001", "income_tax", 2025, "2026-11-28T10:00:00.000+09:00",
                 "S1", "T1", "none"};
  request_record rec;
  rec.content_mac = "ab";
  rec.certificate_number = row.certificate_number;
  rec.fiscal_year = 2025;
  rec.issue_date = civil_date{2026, 11, 28};
  rec.ledger_day = 20261128;
  {
    write_batch b(*db);
    add_issuance(b, row, rec);
    db->write(b, true);
  }
  auto found = find_request(*db, "C1");
  REQUIRE(found.has_value());
  CHECK(found->certificate_number == row.certificate_number);
  {
    write_batch b(*db);
    add_outcome(b, *db, "C1", *found, "printed");
    db->write(b, true);
  }
  auto rows = ledger_day(*db, civil_date{2026, 11, 28});
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].outcome == "printed");
  CHECK(find_request(*db, "C1")->outcome == "printed");
  CHECK_THAT(ledger_json(civil_date{2026, 11, 28}, rows),
             Catch::Contains("\"totals\":{\"income_tax\":{\"printed\":1}}"));
  CHECK_THAT(ledger_csv(rows), Catch::StartsWith("request_id,certificate_number"));
  CHECK(ledger_day(*db, civil_date{2026, 11, 27}).empty());
}
