#include <catch2/catch.hpp>

#include <fstream>
#include <thread>
#include <sys/stat.h>

#include "storage/database.hpp"
#include "storage/master_key.hpp"
#include "test_util.hpp"

using namespace kofu;
using namespace kofu::storage;

namespace {

const std::string code_a = "12345678901";
const std::string code_b = "10987654321";

std::unique_ptr<database> open_db(const test::temp_dir& dir, const key256& master) {
  return database::open(dir.str() + "/db", master);
}

/// Loads a full residents feed of `records`.
void load_residents(database& db, uint64_t sequence, const std::vector<resident_record>& records) {
  auto s = db.begin_feed(dataset::residents, std::nullopt, true, sequence);
  for (auto& r : records)
    s->put(r);
  s->commit();
}

/// Loads a full tax feed of the year with a record for each of `codes` (salaries 1, 2, ...).
void load_tax(database& db, int32_t year, uint64_t sequence, const std::vector<std::string>& codes) {
  auto t = db.begin_feed(dataset::tax, year, true, sequence);
  int64_t salary = 0;
  for (auto& code : codes)
    t->put(test::sample_tax(code, year, ++salary));
  t->commit();
}

/// Every key of a fiscal year's tax records still in the store, whatever its generation.
uint64_t stored_tax_keys(const database& db, int32_t year) {
  uint64_t n = 0;
  db.scan(column::tax, keys::tax_year_prefix(year), keys::prefix_end(keys::tax_year_prefix(year)),
          [&](std::string_view, std::string_view) {
            ++n;
            return true;
          });
  return n;
}

/// Every byte of every file under `root` (SST, WAL, MANIFEST, logs) searched for `needle`.
bool any_file_contains(const std::filesystem::path& root, const std::string& needle) {
  for (auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file())
      continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.find(needle) != std::string::npos)
      return true;
  }
  return false;
}

/// Whether, within about 2 s, no file under `root` holds any of `values` but `kept`. RocksDB
/// deletes an obsolete log file right after a flush, on its own thread: a moment.
bool files_lose(const std::filesystem::path& root, const std::vector<std::string>& values,
                const std::string& kept = {}) {
  auto gone = [&] {
    for (auto& v : values)
      if (v != kept && any_file_contains(root, v))
        return false;
    return true;
  };
  for (int i = 0; i < 100; ++i) {
    if (gone())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return gone();
}

} // namespace

TEST_CASE("a full feed becomes visible at commit, all at once") {
  test::temp_dir dir;
  auto master = key256::random();
  auto db = open_db(dir, master);
  auto stage = db->begin_feed(dataset::residents, std::nullopt, true, 1);
  stage->put(test::sample_resident(code_a, "見本　太郎"));
  auto before = db->take_snapshot();
  stage->put(test::sample_resident(code_b, "見本　花子"));
  CHECK_FALSE(db->resident(*before, code_a).has_value());
  stage->commit();
  CHECK_FALSE(db->resident(*before, code_a).has_value());
  auto after = db->take_snapshot();
  REQUIRE(db->resident(*after, code_a).has_value());
  CHECK(db->resident(*after, code_a)->name == "見本　太郎");
  CHECK(db->resident(*after, code_b)->name == "見本　花子");
  CHECK(db->last_sequence(dataset::residents, std::nullopt) == 1);
  CHECK(db->record_count(dataset::residents, std::nullopt) == 2);
}

TEST_CASE("a second full feed replaces the set; a delta changes it") {
  test::temp_dir dir;
  auto db = open_db(dir, key256::random());
  load_residents(*db, 1, {test::sample_resident(code_a, "甲"), test::sample_resident(code_b, "乙")});
  load_residents(*db, 2, {test::sample_resident(code_a, "丙")});
  auto snap = db->take_snapshot();
  CHECK(db->resident(*snap, code_a)->name == "丙");
  CHECK_FALSE(db->resident(*snap, code_b).has_value());
  {
    auto s = db->begin_feed(dataset::residents, std::nullopt, false, 3);
    s->put(test::sample_resident(code_b, "丁"));
    s->remove(code_a);
    s->commit();
  }
  auto snap2 = db->take_snapshot();
  CHECK_FALSE(db->resident(*snap2, code_a).has_value());
  CHECK(db->resident(*snap2, code_b)->name == "丁");
  CHECK(db->record_count(dataset::residents, std::nullopt) == 1);
}

TEST_CASE("a snapshot older than a retired generation reads data_key_gone and a new one the new set") {
  test::temp_dir dir;
  auto db = open_db(dir, key256::random());
  load_residents(*db, 1, {test::sample_resident(code_a, "甲")});
  load_tax(*db, 2025, 1, {code_a});
  auto before = db->take_snapshot();
  REQUIRE(db->resident(*before, code_a)->name == "甲");
  // The next full feed retires generation 1 (its key first); the old snapshot still names it.
  load_residents(*db, 2, {test::sample_resident(code_a, "乙")});
  CHECK_THROWS_AS(db->resident(*before, code_a), data_key_gone);
  auto after = db->take_snapshot();
  CHECK(db->resident(*after, code_a)->name == "乙");
  // A rollover that destroys the year does the same to a tax read through an older snapshot.
  load_tax(*db, 2026, 1, {code_a});
  auto before_rollover = db->take_snapshot();
  db->rollover(2026, 1);
  CHECK_THROWS_AS(db->tax(*before_rollover, 2025, code_a), data_key_gone);
  CHECK_FALSE(db->tax(*db->take_snapshot(), 2025, code_a).has_value());
}

TEST_CASE("a stale sequence is refused and changes nothing") {
  test::temp_dir dir;
  auto db = open_db(dir, key256::random());
  auto s = db->begin_feed(dataset::tax, 2025, true, 5);
  s->put(test::sample_tax(code_a, 2025, 100));
  s->commit();
  CHECK_THROWS_AS(db->begin_feed(dataset::tax, 2025, true, 5), storage_error);
  CHECK_THROWS_AS(db->begin_feed(dataset::tax, 2025, false, 4), storage_error);
  // Sequences are per fiscal year.
  CHECK_NOTHROW(db->begin_feed(dataset::tax, 2026, true, 1));
}

TEST_CASE("an aborted feed leaves the data as it was") {
  test::temp_dir dir;
  auto db = open_db(dir, key256::random());
  {
    auto s = db->begin_feed(dataset::residents, std::nullopt, true, 1);
    s->put(test::sample_resident(code_a, "甲"));
    s->commit();
  }
  {
    auto s = db->begin_feed(dataset::residents, std::nullopt, true, 2);
    s->put(test::sample_resident(code_b, "乙"));
    s->abort();
  }
  auto snap = db->take_snapshot();
  CHECK(db->resident(*snap, code_a)->name == "甲");
  CHECK_FALSE(db->resident(*snap, code_b).has_value());
  CHECK(db->last_sequence(dataset::residents, std::nullopt) == 1);
}

TEST_CASE("a crash in the middle of a feed leaves the old data, and the stage is swept") {
  test::temp_dir dir;
  auto master = key256::random();
  {
    auto db = open_db(dir, master);
    auto s = db->begin_feed(dataset::residents, std::nullopt, true, 1);
    s->put(test::sample_resident(code_a, "甲"));
    s->commit();
    auto crashed = db->begin_feed(dataset::residents, std::nullopt, true, 2);
    crashed->put(test::sample_resident(code_b, "乙"));
    (void) crashed.release(); // never committed nor aborted: the process "died" here
  }
  auto db = open_db(dir, master);
  auto snap = db->take_snapshot();
  CHECK(db->resident(*snap, code_a)->name == "甲");
  CHECK_FALSE(db->resident(*snap, code_b).has_value());
  CHECK_FALSE(db->get(column::meta, keys::data_key_residents(2)).has_value());
  // The same feed can simply be delivered again.
  auto again = db->begin_feed(dataset::residents, std::nullopt, true, 2);
  again->put(test::sample_resident(code_b, "乙"));
  again->commit();
  auto snap2 = db->take_snapshot();
  CHECK(db->resident(*snap2, code_b)->name == "乙");
}

TEST_CASE("rollover opens a year and destroys the years beyond retention") {
  test::temp_dir dir;
  auto master = key256::random();
  auto db = open_db(dir, master);
  for (int32_t year : {2024, 2025}) {
    auto s = db->begin_feed(dataset::tax, year, true, 1);
    s->put(test::sample_tax(code_a, year, 1000 + year));
    s->put(test::sample_tax(code_b, year, 2000 + year));
    s->commit();
  }
  auto result = db->rollover(2025, 1);
  CHECK(result.open_years == std::vector<int32_t>{2025});
  REQUIRE(result.destroyed.count(2024) == 1);
  CHECK(result.destroyed[2024] == 2);
  auto snap = db->take_snapshot();
  CHECK(db->open_fiscal_year(snap.get()) == 2025);
  CHECK_FALSE(db->tax(*snap, 2024, code_a).has_value());
  CHECK(db->tax(*snap, 2025, code_a)->amount(tax_amount::salary_revenue) == 3025);
  CHECK_FALSE(db->get(column::meta, keys::data_key_tax(2024, 1)).has_value());
  CHECK(stored_tax_keys(*db, 2024) == 0);
}

TEST_CASE("after a rollover a tax feed of a destroyed year is refused at its commit") {
  test::temp_dir dir;
  auto db = open_db(dir, key256::random());
  load_tax(*db, 2024, 1, {code_a});
  load_tax(*db, 2025, 1, {code_a});
  CHECK_FALSE(db->tax_kept_from().has_value());
  // A feed of 2024 staged while the rollover that destroys 2024 runs: refused at its commit.
  auto late = db->begin_feed(dataset::tax, 2024, true, 2);
  late->put(test::sample_tax(code_b, 2024, 7));
  db->rollover(2025, 1);
  CHECK(db->tax_kept_from() == 2025);
  CHECK_THROWS_WITH(late->commit(), Catch::Contains("fiscal year 2024 is no longer kept"));
  late->abort();
  auto delta = db->begin_feed(dataset::tax, 2024, false, 3);
  delta->put(test::sample_tax(code_b, 2024, 8));
  CHECK_THROWS_WITH(delta->commit(), Catch::Contains("fiscal year 2024 is no longer kept"));
  delta->abort();
  auto snap = db->take_snapshot();
  CHECK_FALSE(db->tax_year_loaded(*snap, 2024));
  CHECK_FALSE(db->tax(*snap, 2024, code_b).has_value());
  CHECK(stored_tax_keys(*db, 2024) == 0);
  // The kept year and a later one still load.
  load_tax(*db, 2025, 2, {code_a, code_b});
  load_tax(*db, 2026, 1, {code_a});
  CHECK(db->tax(*db->take_snapshot(), 2026, code_a).has_value());
}

TEST_CASE("no plaintext personal data reaches any file of the database") {
  test::temp_dir dir;
  auto master = key256::random();
  const std::string name = "残存確認　太郎";
  const std::string address = "大阪府吹田市残存町九丁目9番9号";
  {
    auto db = open_db(dir, master);
    auto r = test::sample_resident(code_a, name);
    r.address = address;
    auto s = db->begin_feed(dataset::residents, std::nullopt, true, 1);
    s->put(r);
    s->commit();
    auto d = db->begin_feed(dataset::residents, std::nullopt, false, 2);
    d->put(r);
    d->commit();
    db->set_hold(code_a, "手動停止の理由");
  }
  CHECK_FALSE(any_file_contains(dir.path(), name));
  CHECK_FALSE(any_file_contains(dir.path(), address));
  CHECK_FALSE(any_file_contains(dir.path(), code_a));
  CHECK_FALSE(any_file_contains(dir.path(), "手動停止"));
}

TEST_CASE("manual holds are set, seen and lifted") {
  test::temp_dir dir;
  auto db = open_db(dir, key256::random());
  db->set_hold(code_a, "reason");
  CHECK(db->has_hold(*db->take_snapshot(), code_a));
  CHECK(db->lift_hold(code_a));
  CHECK_FALSE(db->lift_hold(code_a));
  CHECK_FALSE(db->has_hold(*db->take_snapshot(), code_a));
}

TEST_CASE("the master key file is checked") {
  test::temp_dir dir;
  auto path = dir.str() + "/master.key";
  {
    std::ofstream out(path);
    out << std::string(64, 'a') << "\n";
  }
  ::chmod(path.c_str(), 0644);
  CHECK_THROWS_WITH(load_master_key(path, true), Catch::Contains("mode 0600"));
  ::chmod(path.c_str(), 0600);
  CHECK_NOTHROW(load_master_key(path, true));
  {
    std::ofstream out(path);
    out << "abc\n";
  }
  CHECK_THROWS_WITH(load_master_key(path, true), Catch::Contains("64 hex digits"));
  CHECK_THROWS_WITH(load_master_key(dir.str() + "/none", true), Catch::Contains("cannot be opened"));
}

TEST_CASE("a rollover interrupted after its crypto-erase is finished at the next start") {
  test::temp_dir dir;
  auto master = key256::random();
  {
    auto db = open_db(dir, master);
    auto s = db->begin_feed(dataset::tax, 2024, true, 1);
    s->put(test::sample_tax(code_a, 2024, 1));
    s->commit();
    // The crash: the year's key is destroyed, its pointer and records are not.
    db->del(column::meta, keys::data_key_tax(2024, 1), true);
  }
  auto db = open_db(dir, master);
  CHECK(db->loaded_tax_years().empty());
  CHECK(stored_tax_keys(*db, 2024) == 0);
}

TEST_CASE("a wrong master key is refused at open") {
  test::temp_dir dir;
  {
    auto db = open_db(dir, key256::random());
  }
  CHECK_THROWS_WITH(open_db(dir, key256::random()), Catch::Contains("master key does not match"));
}

TEST_CASE("rotating the master key re-wraps every key; the old one opens nothing") {
  test::temp_dir dir;
  auto old_key = key256::random();
  auto new_key = key256::random();
  {
    auto db = open_db(dir, old_key);
    auto s = db->begin_feed(dataset::residents, std::nullopt, true, 1);
    s->put(test::sample_resident(code_a, "甲"));
    s->commit();
    CHECK(db->rewrap_keys(new_key) >= 4);
    CHECK(db->resident(*db->take_snapshot(), code_a)->name == "甲");
  }
  CHECK_THROWS(open_db(dir, old_key));
  auto db = open_db(dir, new_key);
  CHECK(db->resident(*db->take_snapshot(), code_a)->name == "甲");
}

TEST_CASE("records a delta deletes, and tax records removed with their resident, leave every file") {
  test::temp_dir dir;
  auto db = open_db(dir, key256::random());
  load_residents(*db, 1, {test::sample_resident(code_a, "甲"), test::sample_resident(code_b, "乙")});
  load_tax(*db, 2025, 1, {code_a, code_b});
  // The sealed values as stored: they are what must leave the files (the plaintext never was).
  auto values = [&](column c) {
    std::vector<std::string> out;
    db->scan(c, "", {}, [&](std::string_view, std::string_view v) {
      out.emplace_back(v);
      return true;
    });
    return out;
  };
  auto residents_before = values(column::residents);
  auto tax_before = values(column::tax);
  REQUIRE(residents_before.size() == 2);
  REQUIRE(tax_before.size() == 2);
  {
    auto s = db->begin_feed(dataset::residents, std::nullopt, false, 2);
    s->remove(code_a);
    s->commit();
  }
  db->set_hold(code_a, "a manual hold");
  db->remove_departed({db->code_mac(code_a)});
  CHECK_FALSE(db->has_hold(*db->take_snapshot(), code_a));
  auto residents_after = values(column::residents);
  auto tax_after = values(column::tax);
  REQUIRE(residents_after.size() == 1);
  REQUIRE(tax_after.size() == 1);
  for (auto* pair : {&residents_before, &tax_before}) {
    auto& kept = pair == &residents_before ? residents_after.front() : tax_after.front();
    for (auto& v : *pair) {
      if (v == kept)
        continue;
      CHECK_FALSE(any_file_contains(dir.str() + "/db", v));
    }
  }
  // And what stays is still there (the search finds what it looks for).
  CHECK(any_file_contains(dir.str() + "/db", residents_after.front()));
}

TEST_CASE("residents who left are deleted with their tax records after resident_days") {
  test::temp_dir dir;
  auto db = open_db(dir, key256::random());
  auto gone = test::sample_resident(code_a, "甲");
  gone.status = resident_status::moved_out;
  gone.status_date = civil_date{2026, 11, 1};
  load_residents(*db, 1, {gone, test::sample_resident(code_b, "乙")});
  load_tax(*db, 2025, 1, {code_a, code_b});
  db->set_hold(code_a, "a manual hold");
  db->set_hold(code_b, "a manual hold");
  CHECK(db->sweep_departed(civil_date{2026, 11, 30}, 30) == 0);
  CHECK(db->resident(*db->take_snapshot(), code_a).has_value());
  CHECK(db->sweep_departed(civil_date{2026, 12, 1}, 30) == 1);
  auto snap = db->take_snapshot();
  CHECK_FALSE(db->resident(*snap, code_a).has_value());
  CHECK_FALSE(db->tax(*snap, 2025, code_a).has_value());
  CHECK_FALSE(db->has_hold(*snap, code_a)); // the person's manual hold goes with them
  CHECK(db->has_hold(*snap, code_b));
  CHECK(db->resident(*snap, code_b).has_value());
  CHECK(db->tax(*snap, 2025, code_b).has_value());
  CHECK(db->sweep_departed(civil_date{2026, 12, 2}, 30) == 0);
}

TEST_CASE("a resident who came back is not deleted by an old departure") {
  test::temp_dir dir;
  auto db = open_db(dir, key256::random());
  auto gone = test::sample_resident(code_a, "甲");
  gone.status = resident_status::moved_out;
  gone.status_date = civil_date{2026, 1, 1};
  {
    auto s = db->begin_feed(dataset::residents, std::nullopt, true, 1);
    s->put(gone);
    s->commit();
    auto d = db->begin_feed(dataset::residents, std::nullopt, false, 2);
    d->put(test::sample_resident(code_a, "甲"));
    d->commit();
  }
  CHECK(db->sweep_departed(civil_date{2026, 12, 1}, 30) == 0);
  CHECK(db->resident(*db->take_snapshot(), code_a).has_value());
}

TEST_CASE("more departures than one write holds are all removed") {
  test::temp_dir dir;
  auto db = open_db(dir, key256::random());
  // 120,001 tax records; all but the last resident left (three batches of remove_departed).
  std::vector<std::string> codes;
  for (int i = 0; i <= 120'000; ++i)
    codes.push_back(std::to_string(20'000'000'000LL + i));
  load_tax(*db, 2025, 1, codes);
  REQUIRE(db->record_count(dataset::tax, 2025) == codes.size());
  std::vector<digest256> gone;
  for (size_t i = 0; i + 1 < codes.size(); ++i)
    gone.push_back(db->code_mac(codes[i]));
  db->remove_departed(gone);
  CHECK(db->record_count(dataset::tax, 2025) == 1);
  auto snap = db->take_snapshot();
  CHECK(db->tax(*snap, 2025, codes.back()).has_value());
  CHECK_FALSE(db->tax(*snap, 2025, codes.front()).has_value());
  CHECK_FALSE(db->tax(*snap, 2025, codes[60'000]).has_value());
}

TEST_CASE("session records skip the WAL but survive a clean close until deleted") {
  test::temp_dir dir;
  auto master = key256::random();
  const std::string marker = "session-record-marker-7f3a";
  {
    auto db = open_db(dir, master);
    db->put(column::sessions, "s1", marker, false);
    db->put(column::ledger, "l1", "ledger-row-marker-7f3a", false);
    // The ledger row is in the WAL; the session record is only in the memtable.
    CHECK(any_file_contains(dir.path() / "db", "ledger-row-marker-7f3a"));
    CHECK_FALSE(any_file_contains(dir.path() / "db", marker));
  }
  {
    // Closing flushed it: the sweep at start would find it.
    auto db = open_db(dir, master);
    CHECK(db->get(column::sessions, "s1") == marker);
    db->del(column::sessions, "s1", false);
  }
  auto db = open_db(dir, master);
  CHECK_FALSE(db->get(column::sessions, "s1").has_value());
}

TEST_CASE("a delta of deletions only onto an unloaded set loads nothing") {
  test::temp_dir dir;
  auto db = open_db(dir, key256::random());
  load_tax(*db, 2025, 1, {code_a});
  {
    auto d = db->begin_feed(dataset::tax, 2030, false, 1);
    d->remove(code_a);
    d->commit();
  }
  // "A D for a code that is not stored changes nothing": the year is not loaded (a rollover
  // refuses it), and only the feed's sequence stands.
  CHECK(db->loaded_tax_years() == std::vector<int32_t>{2025});
  CHECK(db->last_sequence(dataset::tax, 2030) == 1);
  CHECK_THROWS_AS(db->begin_feed(dataset::tax, 2030, false, 1), storage_error);
  // A delta that inserts loads the year.
  {
    auto d = db->begin_feed(dataset::tax, 2030, false, 2);
    d->put(test::sample_tax(code_b, 2030, 7));
    d->remove(code_a);
    d->commit();
  }
  CHECK(db->loaded_tax_years() == std::vector<int32_t>{2025, 2030});
  CHECK(db->tax(*db->take_snapshot(), 2030, code_b).has_value());
}

TEST_CASE("a record one delta wrote and another deleted leaves the write-ahead log as well") {
  test::temp_dir dir;
  auto db = open_db(dir, key256::random());
  load_residents(*db, 1, {test::sample_resident(code_b, "乙")});
  {
    auto d = db->begin_feed(dataset::residents, std::nullopt, false, 2);
    d->put(test::sample_resident(code_a, "甲"));
    d->commit();
  }
  db->set_hold(code_b, "a manual hold");
  std::vector<std::string> sealed;
  for (auto c : {column::residents, column::holds})
    db->scan(c, "", {}, [&](std::string_view, std::string_view v) {
      sealed.emplace_back(v);
      return true;
    });
  REQUIRE(sealed.size() == 3);
  // The delta's record and the hold were written through the write-ahead log.
  for (auto& v : sealed)
    REQUIRE(any_file_contains(dir.str() + "/db", v));
  {
    auto d = db->begin_feed(dataset::residents, std::nullopt, false, 3);
    d->remove(code_a);
    d->commit();
  }
  REQUIRE(db->lift_hold(code_b));
  auto kept = db->resident(*db->take_snapshot(), code_b);
  REQUIRE(kept.has_value());
  std::string kept_value;
  db->scan(column::residents, "", {}, [&](std::string_view, std::string_view v) {
    kept_value = v;
    return true;
  });
  CHECK(files_lose(dir.str() + "/db", sealed, kept_value));
  CHECK(any_file_contains(dir.str() + "/db", kept_value));
}

TEST_CASE("the data of residents who left survives no crash between their feed's commit and its removal") {
  test::temp_dir dir;
  auto master = key256::random();
  {
    auto db = open_db(dir, master);
    load_residents(*db, 1, {test::sample_resident(code_a, "甲"), test::sample_resident(code_b, "乙")});
    load_tax(*db, 2025, 1, {code_a, code_b});
    db->set_hold(code_a, "a manual hold");
    // A full feed without code_a (who left), and nothing removed after its commit: the crash.
    auto s = db->begin_feed(dataset::residents, std::nullopt, true, 2);
    s->put(test::sample_resident(code_b, "乙"));
    s->departed(db->code_mac(code_a));
    s->commit();
    auto snap = db->take_snapshot();
    REQUIRE_FALSE(db->resident(*snap, code_a).has_value());
    REQUIRE(db->tax(*snap, 2025, code_a).has_value());
  }
  auto db = open_db(dir, master);
  // The commit recorded who left; the next call (the deletion timer's) removes their data.
  CHECK(db->remove_departed() == 1);
  auto snap = db->take_snapshot();
  CHECK_FALSE(db->tax(*snap, 2025, code_a).has_value());
  CHECK_FALSE(db->has_hold(*snap, code_a));
  CHECK(db->tax(*snap, 2025, code_b).has_value());
  CHECK(db->remove_departed() == 0);
  // A delta records them the same way.
  const std::string code_c = "11111111111";
  {
    auto s = db->begin_feed(dataset::residents, std::nullopt, false, 3);
    s->put(test::sample_resident(code_c, "丙"));
    s->commit();
  }
  load_tax(*db, 2025, 2, {code_b, code_c});
  auto d = db->begin_feed(dataset::residents, std::nullopt, false, 4);
  d->remove(code_b);
  d->departed(db->code_mac(code_b));
  d->commit();
  CHECK(db->remove_departed() == 1);
  CHECK_FALSE(db->tax(*db->take_snapshot(), 2025, code_b).has_value());
  CHECK(db->tax(*db->take_snapshot(), 2025, code_c).has_value());
}

TEST_CASE("a departure is due after resident_days, and with 0 at once whatever its date") {
  civil_date today{2026, 12, 4};
  CHECK(departure_due(civil_date{2099, 1, 1}, 0, today));
  CHECK(departure_due(civil_date{2026, 12, 4}, 0, today));
  CHECK(departure_due(civil_date{2026, 11, 4}, 30, today));
  CHECK_FALSE(departure_due(civil_date{2026, 11, 5}, 30, today));
  CHECK_FALSE(departure_due(civil_date{2099, 1, 1}, 1, today));
}

TEST_CASE("a list of residents who left spares one a later feed brought back") {
  test::temp_dir dir;
  auto db = open_db(dir, key256::random());
  load_residents(*db, 1, {test::sample_resident(code_a, "甲"), test::sample_resident(code_b, "乙")});
  load_tax(*db, 2025, 1, {code_a, code_b});
  {
    auto s = db->begin_feed(dataset::residents, std::nullopt, false, 2);
    s->remove(code_a);
    s->departed(db->code_mac(code_a));
    s->remove(code_b);
    s->departed(db->code_mac(code_b));
    s->commit();
  }
  // The removal did not run (a crash); then code_a came back, with a hold.
  {
    auto s = db->begin_feed(dataset::residents, std::nullopt, false, 3);
    s->put(test::sample_resident(code_a, "甲"));
    s->commit();
  }
  db->set_hold(code_a, "a manual hold");
  CHECK(db->remove_departed() == 1);
  auto snap = db->take_snapshot();
  CHECK(db->tax(*snap, 2025, code_a).has_value());
  CHECK(db->has_hold(*snap, code_a));
  CHECK_FALSE(db->tax(*snap, 2025, code_b).has_value());
  CHECK(db->remove_departed() == 0);
}

TEST_CASE("a tax feed after a departure stores nothing of the resident who left") {
  test::temp_dir dir;
  auto db = open_db(dir, key256::random());
  const std::string code_c = "11111111111";
  load_residents(*db, 1, {test::sample_resident(code_a, "甲"), test::sample_resident(code_b, "乙"),
                          test::sample_resident(code_c, "丙")});
  {
    // code_a and code_c leave (a residents feed says so), with nothing of theirs loaded yet.
    auto s = db->begin_feed(dataset::residents, std::nullopt, true, 2);
    s->put(test::sample_resident(code_b, "乙"));
    s->departed(db->code_mac(code_a));
    s->departed(db->code_mac(code_c));
    s->commit();
    CHECK(db->remove_departed() == 2);
  }
  {
    // code_c comes back.
    auto s = db->begin_feed(dataset::residents, std::nullopt, false, 3);
    s->put(test::sample_resident(code_c, "丙"));
    s->commit();
  }
  // The tax system still delivers all three, in a full feed and in a delta.
  load_tax(*db, 2025, 1, {code_a, code_b, code_c});
  auto snap = db->take_snapshot();
  CHECK_FALSE(db->tax(*snap, 2025, code_a).has_value());
  CHECK(db->tax(*snap, 2025, code_b).has_value());
  CHECK(db->tax(*snap, 2025, code_c).has_value());
  CHECK(db->record_count(dataset::tax, 2025) == 2);
  {
    auto d = db->begin_feed(dataset::tax, 2025, false, 2);
    d->put(test::sample_tax(code_a, 2025, 5));
    d->commit();
  }
  CHECK_FALSE(db->tax(*db->take_snapshot(), 2025, code_a).has_value());
  // A rollover forgets those who left before 1 January of the oldest year it keeps.
  auto left_entries = [&] {
    uint64_t n = 0;
    db->scan(column::meta, keys::left_prefix(), keys::prefix_end(keys::left_prefix()),
             [&](std::string_view, std::string_view) {
               ++n;
               return true;
             });
    return n;
  };
  // code_c's entry went when a residents feed held them again: only code_a's is left.
  CHECK(left_entries() == 1);
  db->rollover(2025, 1); // kept from 2025, with a year of margin: written today, kept
  CHECK(left_entries() == 1);
  load_tax(*db, 2100, 1, {code_b});
  db->rollover(2100, 1);
  CHECK(left_entries() == 0);
}

TEST_CASE("a resident who leaves while a tax feed is staged loses that feed's record too") {
  test::temp_dir dir;
  auto db = open_db(dir, key256::random());
  load_residents(*db, 1, {test::sample_resident(code_a, "甲"), test::sample_resident(code_b, "乙")});
  load_tax(*db, 2025, 1, {code_a, code_b});
  // The tax feed is staged (code_a not yet gone), then code_a leaves and is removed (the removal
  // reads generation 1), then the feed commits generation 2.
  auto t = db->begin_feed(dataset::tax, 2025, true, 2);
  t->put(test::sample_tax(code_a, 2025, 1));
  t->put(test::sample_tax(code_b, 2025, 2));
  {
    auto s = db->begin_feed(dataset::residents, std::nullopt, true, 2);
    s->put(test::sample_resident(code_b, "乙"));
    s->departed(db->code_mac(code_a));
    s->commit();
  }
  CHECK(db->remove_departed() == 1);
  t->commit();
  CHECK(t->records_skipped() == 1); // dropped at the commit
  auto snap = db->take_snapshot();
  CHECK_FALSE(db->tax(*snap, 2025, code_a).has_value());
  CHECK(db->tax(*snap, 2025, code_b).has_value());
}

TEST_CASE("a rolled-over year leaves the write-ahead log too") {
  test::temp_dir dir;
  auto db = open_db(dir, key256::random());
  {
    // Written through the log: a delta's record, and the year's wrapped data key.
    auto d = db->begin_feed(dataset::tax, 2025, false, 1);
    d->put(test::sample_tax(code_a, 2025, 1));
    d->commit();
  }
  std::vector<std::string> written;
  db->scan(column::tax, "", {}, [&](std::string_view, std::string_view v) {
    written.emplace_back(v);
    return true;
  });
  written.push_back(*db->get(column::meta, keys::data_key_tax(2025, 1)));
  REQUIRE(written.size() == 2);
  for (auto& v : written)
    REQUIRE(any_file_contains(dir.str() + "/db", v));
  load_tax(*db, 2026, 1, {code_b});
  db->rollover(2026, 1);
  CHECK(files_lose(dir.str() + "/db", written));
}

TEST_CASE("a residents delta that adds and then removes a person who left keeps their departure") {
  test::temp_dir dir;
  auto db = open_db(dir, key256::random());
  load_residents(*db, 1, {test::sample_resident(code_b, "乙")});
  db->remove_departed({db->code_mac(code_a)}); // code_a left
  {
    auto d = db->begin_feed(dataset::residents, std::nullopt, false, 2);
    d->put(test::sample_resident(code_a, "甲"));
    d->remove(code_a);
    d->commit();
  }
  auto t = db->begin_feed(dataset::tax, 2025, true, 1);
  t->put(test::sample_tax(code_a, 2025, 1));
  t->put(test::sample_tax(code_b, 2025, 2));
  t->commit();
  CHECK(t->records_skipped() == 1);
  CHECK_FALSE(db->tax(*db->take_snapshot(), 2025, code_a).has_value());
}
