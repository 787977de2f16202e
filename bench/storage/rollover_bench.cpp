// rollover_bench: the fiscal-year rollover of a full year of tax records, and the cost of the
// audit chain's appends per issuance. docs/BENCH.md describes the figures.
//
//   rollover_bench [--records N] [--entries N] [--tmp DIR] [--skip-rollover] [--skip-audit]
//
// Rollover: a fresh database (storage::database::open); year Y = 2025 staged with N sealed tax
// records of the synthetic population (tools/feedgen) through database::begin_feed / put / commit
// (the feed path's storage half), year Y+1 likewise (a city keeps the new year's data when the old
// one goes), both untimed; then database::rollover(Y+1, keep 1) timed: the open-year write, the
// crypto-erase of year Y's data key, DeleteRange over its records and the forced compaction of that
// range (storage/database.cpp). Checked after: year Y is gone, year Y+1 still has N records, and
// the database's size on disk before/after.
//
// Audit: storage::chain_entries + database::write on a fresh database, as the audit logger does
// (actors/audit_logger.cpp): sync=false with one entry per write, and sync=true with groups of 64
// entries per write (a full group commit); then both again with each issuance's ledger row and
// request record (storage::add_issuance) in the same batch, as the logger writes them; and
// sync=true one per write (no grouping) for reference. Entries are shaped like the session's (event
// issuance, request id, certificate number, PDF SHA-256, subject HMAC) and built before the clock
// starts; the figure covers the HMAC chain, the JSON, the batch and the write. The chain's HMAC is
// set up once per run (storage::hmac_key), as the logger sets it up once when it starts. Wall time
// and the appending thread's CPU time are both given (the machine is shared). The target line
// judges the per-issuance figures (entry + ledger row + request record).

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "bench/storage/bench_util.hpp"
#include "storage/audit_chain.hpp"
#include "storage/crypto.hpp"
#include "storage/database.hpp"
#include "storage/ledger.hpp"
#include "tools/feedgen/generator.hpp"

using namespace kofu;
using kofu::bench::figure;
using kofu::bench::fmt;

namespace {

constexpr uint64_t records_max = 5'000'000;
constexpr uint64_t entries_max = 10'000'000;
constexpr int32_t year = 2025;
constexpr size_t group = 64;

struct options {
  uint64_t records = 1'000'000;
  uint64_t entries = 20'000;
  bool rollover = true;
  bool audit = true;
  std::string tmp;
};

bool parse(int argc, char** argv, options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--skip-rollover") o.rollover = false;
    else if (a == "--skip-audit") o.audit = false;
    else if (a == "--records" && i + 1 < argc) o.records = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--entries" && i + 1 < argc) o.entries = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--tmp" && i + 1 < argc) o.tmp = argv[++i];
    else return false;
  }
  return o.records > 0 && o.records <= records_max && o.entries >= group
         && o.entries <= entries_max;
}

uint64_t dir_bytes(const std::string& dir) {
  uint64_t n = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file())
      n += e.file_size();
  return n;
}

double mib(uint64_t b) {
  return static_cast<double>(b) / (1024.0 * 1024.0);
}

void stage_year(storage::database& db, int32_t fiscal_year, uint64_t n) {
  feedgen::population_options po;
  po.fiscal_year = fiscal_year;
  auto stage = db.begin_feed(storage::dataset::tax, fiscal_year, true, 1);
  feedgen::generate_population(po.seed, n, po, [&](uint64_t, const feedgen::person& p) {
    stage->put(p.tax);
  });
  stage->commit();
}

bool bench_rollover(const options& o) {
  bench::temp_dir dir("rollover-bench", o.tmp);
  auto db = storage::database::open(dir.path() + "/db", storage::key256::random());
  auto t0 = bench::clock_type::now();
  stage_year(*db, year, o.records);
  figure("rollover.stage_year_seconds (untimed setup, " + std::to_string(o.records) + " records)",
         fmt(bench::seconds_since(t0), 2));
  t0 = bench::clock_type::now();
  stage_year(*db, year + 1, o.records);
  figure("rollover.stage_next_year_seconds (untimed setup)", fmt(bench::seconds_since(t0), 2));
  db->rollover(year, 1); // year Y open, nothing destroyed: the state before the timed rollover
  auto before = dir_bytes(dir.path());
  figure("rollover.db_mib_before", fmt(mib(before), 1));

  auto cpu0 = bench::process_cpu_seconds();
  t0 = bench::clock_type::now();
  auto r = db->rollover(year + 1, 1);
  auto seconds = bench::seconds_since(t0);
  auto cpu = bench::process_cpu_seconds() - cpu0;
  auto destroyed = r.destroyed.count(year) ? r.destroyed.at(year) : 0;
  auto kept = db->record_count(storage::dataset::tax, year + 1);
  auto left = db->record_count(storage::dataset::tax, year);
  auto years = db->loaded_tax_years();
  figure("rollover.seconds (1 year destroyed, with compaction)", fmt(seconds, 2));
  figure("rollover.cpu_seconds (all threads)", fmt(cpu, 2));
  figure("rollover.records_destroyed", std::to_string(destroyed));
  figure("rollover.db_mib_after", fmt(mib(dir_bytes(dir.path())), 1));
  bool correct = destroyed == o.records && kept == o.records && left == 0 && years.size() == 1
                 && years[0] == year + 1;
  figure("rollover.check (year Y gone, Y+1 intact)", correct ? "ok" : "FAILED");
  std::printf("target rollover <= 10 s: %s (%s s)%s\n", seconds <= 10 ? "MET" : "MISSED",
              fmt(seconds, 2).c_str(), o.records == 1'000'000 ? "" : " [not 1M records]");
  return correct;
}

storage::audit_entry issuance_entry(uint64_t i, const storage::key256& code_key) {
  storage::audit_entry e;
  e.time = "2026-11-28T10:15:00.123+09:00";
  e.actor = "center";
  e.event = "issuance";
  e.outcome = "ok";
  e.request_id = "C20261128-" + std::to_string(1'000'000 + i);
  e.certificate_number = "20261128-" + std::to_string(100'000 + i % 900'000);
  e.pdf_sha256 = storage::to_hex(storage::sha256(e.request_id));
  e.subject = storage::to_hex(storage::hmac_sha256(code_key, std::to_string(i)));
  return e;
}

struct per_entry {
  double wall_us = 0;
  double cpu_us = 0; // the appending thread's CPU (waits for the disk not included)
};

/// Appends `n` issuances in writes of `per_write`, each its audit entry alone or (with_ledger)
/// also its ledger row and request record; microseconds per entry.
per_entry append_run(storage::database& db, const storage::key256& audit_key, uint64_t n,
                     size_t per_write, bool sync, bool with_ledger) {
  auto code_key = storage::key256::random();
  auto state = storage::load_audit_state(db);
  // Set up once, as the logger does when it starts (storage::hmac_key).
  storage::hmac_key key(audit_key);
  // The entries are made before the clock starts: the session builds them, not the logger.
  std::vector<storage::audit_entry> made;
  made.reserve(n);
  for (uint64_t i = 0; i < n; ++i)
    made.push_back(issuance_entry(i, code_key));
  auto cpu0 = bench::thread_cpu_seconds();
  auto t0 = bench::clock_type::now();
  for (uint64_t done = 0; done < n;) {
    storage::write_batch b(db);
    std::vector<storage::audit_entry> entries;
    for (size_t k = 0; k < per_write && done < n; ++k, ++done) {
      entries.push_back(std::move(made[done]));
      if (!with_ledger)
        continue;
      storage::ledger_row row;
      row.request_id = entries.back().request_id;
      row.certificate_number = entries.back().certificate_number;
      row.certificate_type = "income_tax";
      row.fiscal_year = year;
      row.issued_at = entries.back().time;
      row.store_code = "S0001234";
      row.terminal_id = "T01";
      storage::request_record req;
      req.content_mac = entries.back().pdf_sha256;
      req.certificate_number = row.certificate_number;
      req.fiscal_year = year;
      req.issue_date = {2026, 11, 28};
      req.answered_ms = 1'800'000'000'000;
      req.ledger_day = 20261128;
      storage::add_issuance(b, row, req);
    }
    storage::chain_entries(key, state, entries, b);
    db.write(b, sync);
  }
  auto wall = bench::seconds_since(t0);
  auto cpu = bench::thread_cpu_seconds() - cpu0;
  return {wall * 1e6 / static_cast<double>(n), cpu * 1e6 / static_cast<double>(n)};
}

bool bench_audit(const options& o) {
  bench::temp_dir dir("audit-bench", o.tmp);
  auto db = storage::database::open(dir.path() + "/db", storage::key256::random());
  auto audit_key = db->named_key(storage::audit_key_name);
  append_run(*db, audit_key, 1000, 1, false, false); // warm-up
  auto unsynced = append_run(*db, audit_key, o.entries, 1, false, false);
  auto grouped = append_run(*db, audit_key, o.entries, group, true, false);
  auto unsynced_l = append_run(*db, audit_key, o.entries, 1, false, true);
  auto grouped_l = append_run(*db, audit_key, o.entries, group, true, true);
  auto single_n = std::min<uint64_t>(o.entries / 10, 2000);
  auto single = append_run(*db, audit_key, single_n, 1, true, false);
  auto v = storage::verify_chain(*db, audit_key);
  auto show = [](const per_entry& p) { return fmt(p.wall_us, 1) + " wall, " + fmt(p.cpu_us, 1) + " cpu"; };
  figure("audit.us_per_entry sync=false, 1 per write", show(unsynced));
  figure("audit.us_per_entry sync=true, group of 64", show(grouped));
  figure("audit.us_per_entry + ledger row + request record, sync=false, 1 per write", show(unsynced_l));
  figure("audit.us_per_entry + ledger row + request record, sync=true, group of 64", show(grouped_l));
  figure("audit.us_per_entry sync=true, 1 per write (reference, " + std::to_string(single_n)
           + " entries)",
         show(single));
  figure("audit.chain_verified_entries", std::to_string(v.entries) + (v.ok ? " ok" : " FAILED"));
  // The issue's target is per issuance: the audit entry with its ledger row and request record.
  std::printf("target audit append < 50 us/issuance (wall, entry + ledger row + request record): "
              "sync=false %s (%s us), sync=true group 64 %s (%s us)\n",
              unsynced_l.wall_us < 50 ? "MET" : "MISSED", fmt(unsynced_l.wall_us, 1).c_str(),
              grouped_l.wall_us < 50 ? "MET" : "MISSED", fmt(grouped_l.wall_us, 1).c_str());
  return v.ok;
}

} // namespace

int main(int argc, char** argv) {
  options o;
  if (!parse(argc, argv, o)) {
    std::fprintf(stderr, "usage: rollover_bench [--records N] [--entries N (>= 64)] [--tmp DIR] "
                         "[--skip-rollover] [--skip-audit]\n");
    return 2;
  }
  try {
    std::printf("rollover_bench: load average %.2f\n", bench::load_average_1min());
    bool ok = true;
    if (o.rollover)
      ok = bench_rollover(o) && ok;
    if (o.audit)
      ok = bench_audit(o) && ok;
    figure("load_average_1min_after", fmt(bench::load_average_1min(), 2));
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rollover_bench: %s\n", e.what());
    return 1;
  }
}
