#pragma once

// The one class that owns kofu's RocksDB database and its column families. Everything above it
// speaks in records, snapshots and batches; no RocksDB header leaves storage/.
//
// Data sets (the residents; each fiscal year's tax records) live in generations: a full feed is
// staged into a new generation under a new data key and made visible by one synced write of the
// generation pointer, so a reader sees the old set or the new set, never a mix, and a crash leaves
// one of them. Old generations are destroyed key first (crypto-erase), then their range is deleted
// and compacted away.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "messages/records.hpp"
#include "storage/crypto.hpp"
#include "storage/keys.hpp"

namespace kofu::storage {

class database;

/// Storage failed (I/O error, corruption); the message names the operation and RocksDB's status.
class storage_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Why a tax feed of `fiscal_year` is refused once a rollover kept only the years from `kept_from`.
std::string year_not_kept_message(int32_t fiscal_year, int32_t kept_from);

/// A record's generation is named by the snapshot it was read through, but its data key is gone:
/// a feed's commit or a rollover retired the generation after the snapshot was taken. Nothing is
/// wrong with the store; the same reads through a new snapshot see the current data.
class data_key_gone : public storage_error {
public:
  using storage_error::storage_error;
};

/// The data at one instant: every read through one snapshot sees the same state.
class snapshot {
public:
  ~snapshot();
  snapshot(const snapshot&) = delete;
  snapshot& operator=(const snapshot&) = delete;

private:
  friend class database;
  snapshot(const database* db, const void* snap) : db_(db), snap_(snap) {
    // nop
  }
  const database* db_;
  const void* snap_;
};

/// Writes across column families that land together or not at all.
class write_batch {
public:
  explicit write_batch(const database& db);
  ~write_batch();
  write_batch(write_batch&&) noexcept;
  void put(column c, std::string_view key, std::string_view value);
  void del(column c, std::string_view key);
  size_t count() const;

private:
  friend class database;
  struct impl;
  std::unique_ptr<impl> impl_;
  const database* db_ = nullptr;
};

enum class dataset : uint8_t { residents, tax };

/// Whether a resident who left (`moved_out`, `deceased`) on `status_date` is to be deleted by
/// `today`: `resident_days` after that date, and with 0 at once, whatever the date (the default of
/// retention.resident_days, "at once when the feed says so", data-lifecycle.md).
bool departure_due(const civil_date& status_date, uint32_t resident_days, const civil_date& today);

/// One feed being staged: records go in, nothing is visible until commit(). Errors of a staging
/// thread surface as storage_error from a later put() or from commit().
class feed_stage {
public:
  virtual ~feed_stage() = default;
  virtual void put(const resident_record& r) = 0;
  virtual void put(const tax_record& r) = 0;
  virtual void remove(std::string_view resident_code) = 0;
  /// A resident who left (code_mac()): their tax records and manual hold are to go as well. The
  /// commit records them in the same write, and database::remove_departed() removes them after
  /// it; a crash in between leaves the list for the next call (the deletion timer's).
  virtual void departed(const digest256& code_mac) = 0;
  /// Makes the whole feed visible at one instant; records its sequence.
  virtual void commit() = 0;
  /// Drops everything staged (also done by the destructor when not committed).
  virtual void abort() = 0;
  virtual uint64_t records_staged() const = 0;
  /// After commit(): tax records not stored because their residents had left (left_residents).
  virtual uint64_t records_skipped() const = 0;
};

struct rollover_result {
  int32_t fiscal_year = 0;
  std::vector<int32_t> open_years;
  std::map<int32_t, uint64_t> destroyed; // fiscal year -> records destroyed
};

/// How full feeds are staged (docs/FEEDS.md, "Storing a feed"). The defaults are the production
/// values; tests make them small to exercise many runs.
struct database_options {
  /// A full feed's sealed records are collected in memory up to this many bytes, sorted and written
  /// as one SST file of the stage (the feed's peak memory is about this much).
  size_t stage_run_bytes = size_t{128} << 20;
  /// Records handed from the feed thread to the staging thread at a time.
  size_t stage_batch_records = 2'048;
  /// Batches waiting for the staging thread at most (the feed thread waits beyond).
  size_t stage_queue_batches = 8;
  /// false: a full feed seals, sorts and writes on the caller's thread (no staging thread).
  bool stage_thread = true;
};

class database {
public:
  /// Opens or creates the database in `dir`, then sweeps what a crash may have left (staged
  /// generations, retired generations not yet destroyed, stage files). Throws storage_error.
  static std::unique_ptr<database> open(const std::string& dir, const key256& master,
                                        const database_options& options = {});
  ~database();

  /// The folder under dir() where full feeds write their stage files (removed at open).
  std::string stage_dir() const;

  /// The keyed hash under which a resident code is stored.
  digest256 code_mac(std::string_view resident_code) const;

  std::unique_ptr<snapshot> take_snapshot() const;

  std::optional<resident_record> resident(const snapshot& s, std::string_view code) const;
  std::optional<tax_record> tax(const snapshot& s, int32_t fiscal_year,
                                std::string_view code) const;
  /// The year opened for issuance by the last rollover.
  std::optional<int32_t> open_fiscal_year(const snapshot* s = nullptr) const;
  /// Whether the tax data of `fiscal_year` is loaded (one read; loaded_tax_years scans).
  bool tax_year_loaded(const snapshot& s, int32_t fiscal_year) const;
  /// Fiscal years whose tax data is loaded, ascending.
  std::vector<int32_t> loaded_tax_years(const snapshot* s = nullptr) const;
  /// The last applied sequence of a data set (0: none yet).
  uint64_t last_sequence(dataset d, std::optional<int32_t> fiscal_year) const;
  uint64_t record_count(dataset d, std::optional<int32_t> fiscal_year) const;

  /// Starts staging a feed. `full`: a new generation replaces the set; else changes apply to the
  /// current generation at commit. Throws storage_error when the sequence is not above the last.
  std::unique_ptr<feed_stage> begin_feed(dataset d, std::optional<int32_t> fiscal_year, bool full,
                                         uint64_t sequence);

  /// Opens `fiscal_year` for issuance and destroys tax years older than the `keep_years` newest
  /// open ones (data key first, then records, then compaction). From then on a tax feed of a year
  /// before the kept ones is refused at its commit (storage_error, year_not_kept_message), also
  /// one staged while the rollover ran.
  rollover_result rollover(int32_t fiscal_year, uint32_t keep_years);
  /// The oldest fiscal year the last rollover kept; none before the first rollover.
  std::optional<int32_t> tax_kept_from() const;
  /// Sets that year without a rollover: at start, from the open year and the retention in force
  /// (a database rolled over before the bound was recorded; a retention made longer).
  void keep_tax_years_from(int32_t fiscal_year);

  /// Deletes, physically, the tax records of these residents in every loaded year and their manual
  /// holds (residents who left, deleted when the feed says so). `resident_macs` are code_mac()s;
  /// any number, written in synced batches of a bounded size.
  void remove_departed(const std::vector<digest256>& resident_macs);

  /// The same for every resident the commits of residents feeds recorded as departed
  /// (feed_stage::departed), one part of the list at a time, skipping a person a later feed
  /// brought back. The list is deleted only once the data is physically gone, so a crash or a
  /// failure anywhere leaves it for the next call. Returns the persons handled.
  uint64_t remove_departed();

  /// Deletes residents who left (`moved_out`, `deceased`) at least `resident_days` before
  /// `today`, with their tax records in every loaded year, then compacts so that no file keeps
  /// them. Returns how many were deleted.
  uint64_t sweep_departed(const civil_date& today, uint32_t resident_days);

  /// Manual issuance holds (PUT /admin/v1/holds/{code}); the reason is stored sealed.
  void set_hold(std::string_view code, std::string_view reason);
  bool lift_hold(std::string_view code);
  bool has_hold(const snapshot& s, std::string_view code) const;

  // Generic access for the ledger, audit, sessions, feeds and meta families.
  std::optional<std::string> get(column c, std::string_view key, const snapshot* s = nullptr) const;
  void write(write_batch& b, bool sync);
  /// Makes every write before it durable (fsync of the WAL). Unlike a write with sync=true it does
  /// not hold RocksDB's write queue during the fsync, so other writers go on meanwhile; what an
  /// unsynced write changed is visible before this returns (the audit logger's group commit).
  void sync_wal();
  /// Unsynced puts and deletes in the sessions family skip the WAL: a session record matters only
  /// once a flush has put it into an SST file, where the sweep at start finds it; one that a crash
  /// loses from the memtable leaves nothing to sweep. Its key lived in memory only anyway.
  void put(column c, std::string_view key, std::string_view value, bool sync);
  void del(column c, std::string_view key, bool sync);
  /// Visits keys in [from, to) in order (to empty: to the end) until `visit` returns false.
  void scan(column c, std::string_view from, std::string_view to,
            const std::function<bool(std::string_view key, std::string_view value)>& visit,
            const snapshot* s = nullptr) const;
  /// Deletes [from, to) and compacts it so that no file holds it any longer.
  void destroy_range(column c, std::string_view from, std::string_view to);

  /// Approximate bytes on disk per column family.
  std::map<std::string, uint64_t> sizes() const;

  /// A random key for one purpose (the audit chain, request content hashes), created at first
  /// use and kept wrapped by the master key, so that rotating the master key re-wraps it.
  key256 named_key(std::string_view name) const;

  /// Master key rotation: re-wraps every data and named key under `new_master` in one durable
  /// write (all or nothing); the old master key no longer opens anything. Returns the keys
  /// re-wrapped. The caller then replaces the key file.
  size_t rewrap_keys(const key256& new_master);

  const std::string& dir() const;

  struct impl;

private:
  explicit database(std::unique_ptr<impl> p);
  /// Forgets the residents who left (`left/` entries) before that day: rollover().
  void forget_left(uint32_t before_yyyymmdd);
  struct removal_spans;
  /// Deletes the tax records (every loaded year) and manual holds of `resident_macs` in synced
  /// writes of a bounded size, except persons the residents set holds (again), and widens
  /// `spans` for the compaction after. Returns the persons handled.
  uint64_t remove_persons(const std::vector<digest256>& resident_macs, removal_spans& spans);
  /// Compacts `spans` and flushes every family, so that no file keeps what was deleted.
  void erase_physically(const removal_spans& spans);
  friend class snapshot;
  friend class write_batch;
  std::unique_ptr<impl> impl_;
};

} // namespace kofu::storage
