#include "storage/database.hpp"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/sst_file_writer.h>
#include <rocksdb/utilities/options_util.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <thread>

#include <pthread.h>

#include "messages/clock.hpp"
#include "storage/record_codec.hpp"

namespace kofu::storage {

namespace {

/// The folder (under the database folder) where full feeds write their stage files.
constexpr std::string_view stage_folder_name = "feed-stage";
/// The label of the key-wrapping key derived from the master key.
constexpr std::string_view wrap_key_label = "kofu/key-wrap/v1";
/// Departures (residents who left) one feed may record for later deletion.
constexpr size_t departures_max = 200'000;
/// Departed residents whose tax records and holds go in one synced write (remove_departed).
constexpr size_t departed_batch_max = 50'000;
/// A delta is applied in one atomic batch held in memory: bounded.
constexpr size_t delta_records_max = 250'000;

void check(const rocksdb::Status& st, std::string_view what) {
  if (!st.ok())
    throw storage_error("storage: " + std::string(what) + ": " + st.ToString());
}

rocksdb::Slice slice(std::string_view s) {
  return {s.data(), s.size()};
}

std::string_view view(const rocksdb::Slice& s) {
  return {s.data(), s.size()};
}

std::string encode_u64(uint64_t x) {
  std::string s;
  keys::append_u64(s, x);
  return s;
}

/// Keyed hashes, sorted: 32 bytes each, looked up by binary search.
using digest_list = std::vector<digest256>;

bool holds(const digest_list& list, const digest256& mac) {
  return std::binary_search(list.begin(), list.end(), mac);
}

/// Keyed hashes back to back (a `gone/` part) as a list.
void append_digests(digest_list& out, std::string_view bytes) {
  for (size_t at = 0; at + sizeof(digest256) <= bytes.size(); at += sizeof(digest256)) {
    digest256 mac;
    std::memcpy(mac.data(), bytes.data() + at, mac.size());
    out.push_back(mac);
  }
}

/// The value of a `left/` entry: today (Japan), yyyymmdd.
std::string left_value() {
  std::string v;
  keys::append_u32(v, yyyymmdd(jst_date(now_ms())));
  return v;
}

} // namespace

struct database::impl {
  std::string dir;
  database_options options;
  key256 code_key;  // resident codes -> HMAC
  std::unique_ptr<hmac_key> code_mac_key; // code_key's precomputed HMAC states
  key256 wrap_key;  // wraps data keys
  key256 holds_key; // seals manual hold reasons
  std::unique_ptr<rocksdb::DB> db;
  std::array<rocksdb::ColumnFamilyHandle*, column_count> cf{};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;

  mutable std::shared_mutex keys_mutex;
  mutable std::map<std::string, key256> key_cache; // meta key name -> data key
  /// Serialises a rollover with the commit of a tax feed: a feed of a year the rollover destroys
  /// is either committed first (and destroyed with the year) or refused at its commit.
  std::mutex years_mutex;

  /// The oldest fiscal year the last rollover kept (meta "tax_kept_from"); none before the first.
  std::optional<int32_t> tax_kept_from() const {
    auto v = get(column::meta, "tax_kept_from", nullptr);
    if (!v || v->size() != 4)
      return std::nullopt;
    return static_cast<int32_t>(keys::read_u32(*v, 0));
  }

  /// Throws storage_error when a tax feed of `fiscal_year` would bring back a year a rollover
  /// destroyed. Holding years_mutex from this check to the commit's write makes it hold against
  /// a rollover too.
  void check_year_kept(const std::optional<int32_t>& fiscal_year) const {
    if (!fiscal_year)
      return;
    auto from = tax_kept_from();
    if (from && *fiscal_year < *from)
      throw storage_error(year_not_kept_message(*fiscal_year, *from));
  }

  /// years_mutex taken, and for a tax feed its year checked. Taken by every feed's commit
  /// (released by the caller once the commit's write is done), a rollover's first write, and the
  /// removal of residents who left (from reading the generations to their write): none of them
  /// sees another half done.
  std::unique_lock<std::mutex> lock_year_kept(const std::optional<int32_t>& fiscal_year) {
    std::unique_lock<std::mutex> lock(years_mutex);
    if (fiscal_year)
      check_year_kept(fiscal_year);
    return lock;
  }

  rocksdb::ColumnFamilyHandle* h(column c) const { return cf[static_cast<size_t>(c)]; }

  ~impl() {
    for (auto* handle : handles)
      db->DestroyColumnFamilyHandle(handle);
    if (db)
      db->Close();
  }

  std::optional<std::string> get(column c, std::string_view key,
                                 const rocksdb::Snapshot* snap) const {
    rocksdb::ReadOptions ro;
    ro.snapshot = snap;
    std::string value;
    auto st = db->Get(ro, h(c), slice(key), &value);
    if (st.IsNotFound())
      return std::nullopt;
    check(st, "get from " + std::string(column_name(c)));
    return value;
  }

  void put_sync(column c, std::string_view key, std::string_view value) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    check(db->Put(wo, h(c), slice(key), slice(value)), "put");
  }

  /// A data key: created (wrapped under the wrap key into meta) or read back and unwrapped.
  key256 data_key(const std::string& name, bool create) const {
    {
      std::shared_lock lock(keys_mutex);
      auto i = key_cache.find(name);
      if (i != key_cache.end())
        return i->second;
    }
    std::unique_lock lock(keys_mutex);
    auto wrapped = get(column::meta, name, nullptr);
    key256 key;
    if (wrapped) {
      auto raw = storage::open(wrap_key, name, *wrapped);
      if (!raw || raw->size() != key_bytes)
        throw storage_error("storage: data key " + name + " does not unwrap");
      key = key256(raw->data());
    } else if (create) {
      key = key256::random();
      rocksdb::WriteOptions wo;
      wo.sync = true;
      auto sealed = seal(wrap_key, name,
                         std::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
      check(db->Put(wo, h(column::meta), slice(name), slice(sealed)), "store data key");
    } else {
      throw data_key_gone("storage: data key " + name + " is gone");
    }
    key_cache.insert_or_assign(name, key);
    return key;
  }

  /// A database remembers a check value sealed under its key-wrapping key: a wrong master key is
  /// refused at open instead of failing record by record.
  void check_master_key() {
    constexpr std::string_view check_key = "key/check";
    constexpr std::string_view check_text = "kofu master key check v1";
    auto v = get(column::meta, check_key, nullptr);
    if (!v) {
      put_sync(column::meta, check_key, seal(wrap_key, check_key, check_text));
      return;
    }
    auto plain = storage::open(wrap_key, check_key, *v);
    if (!plain || plain->view() != check_text)
      throw storage_error("storage: the master key does not match this database (" + dir + ")");
  }

  /// Crypto-erase: the wrapped key is deleted (synced) and forgotten.
  void destroy_data_key(const std::string& name) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    check(db->Delete(wo, h(column::meta), slice(name)), "destroy data key");
    std::unique_lock lock(keys_mutex);
    key_cache.erase(name);
  }

  uint32_t generation(const std::string& meta_key, const rocksdb::Snapshot* snap) const {
    auto v = get(column::meta, meta_key, snap);
    return v && v->size() == 4 ? keys::read_u32(*v, 0) : 0;
  }

  void destroy_range(column c, const std::string& from, const std::string& to) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    check(db->DeleteRange(wo, h(c), slice(from), slice(to)), "delete range");
    compact(c, from, to);
  }

  /// Rewrites [from, to) down to the last level, so deleted records leave every file (memtables
  /// are flushed first).
  void compact(column c, const std::string& from, const std::string& to) {
    rocksdb::CompactRangeOptions co;
    co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    rocksdb::Slice b = slice(from), e = slice(to);
    check(db->CompactRange(co, h(c), &b, e.empty() ? nullptr : &e), "compact range");
  }

  /// A deleted record's version may still sit in a write-ahead log file: one is removed only when
  /// every column family's data in it has been flushed, and the audit log's and the metadata's
  /// rarely fill a memtable. Flushing them all lets RocksDB delete those files (not archived:
  /// WAL_ttl_seconds and WAL_size_limit_MB are 0, and no log file is recycled). Needed where the
  /// deleted records' key lives on (a delta's deletions, residents who left, a lifted hold); a
  /// destroyed generation or year is crypto-erased first, and the audit log holds no personal data.
  /// Nine flushes, each synced: never on the issuance path.
  void release_logs() {
    rocksdb::FlushOptions fo;
    fo.wait = true;
    fo.allow_write_stall = true;
    check(db->Flush(fo, handles), "flush");
  }

  /// The same over the span of `deleted` keys (one compaction, as narrow as they lie: a few keys
  /// rewrite only the files around them).
  void compact_keys(column c, const std::vector<std::string>& deleted) {
    if (deleted.empty())
      return;
    auto [lo, hi] = std::minmax_element(deleted.begin(), deleted.end());
    compact(c, *lo, *hi + '\0');
  }

  std::string stage_root() const { return dir + "/" + std::string(stage_folder_name); }

  /// Stage files left by a feed that never finished (a crash, a failed clean-up): no feed is live
  /// at open, so every one of them is stray. Their records never reached the database.
  void remove_stage_files() {
    std::error_code ec;
    std::filesystem::remove_all(stage_root(), ec);
    if (ec)
      throw storage_error("storage: cannot remove the stage files in " + stage_root() + ": "
                          + ec.message());
  }

  /// Staging markers: "stage/<data key name>" -> generation range to sweep after a crash.
  static std::string stage_marker(const std::string& data_key_name) {
    return "stage/" + data_key_name;
  }

  /// Destroys every generation that is neither current nor being staged by a live feed: leftovers
  /// of a crash in the middle of a feed or of a retirement.
  void sweep_generations() {
    std::vector<std::string> dead;
    auto it = std::unique_ptr<rocksdb::Iterator>(db->NewIterator({}, h(column::meta)));
    for (it->Seek("dk/"); it->Valid() && it->key().starts_with("dk/"); it->Next()) {
      auto name = it->key().ToString();
      if (name.rfind("dk/residents/", 0) == 0) {
        auto gen = static_cast<uint32_t>(std::stoul(name.substr(13)));
        if (gen != generation(keys::generation_residents(), nullptr))
          dead.push_back(name);
      } else if (name.rfind("dk/tax/", 0) == 0) {
        auto slash = name.find('/', 7);
        auto year = std::stoi(name.substr(7, slash - 7));
        auto gen = static_cast<uint32_t>(std::stoul(name.substr(slash + 1)));
        if (gen != generation(keys::generation_tax(year), nullptr))
          dead.push_back(name);
      }
    }
    check(it->status(), "scan data keys");
    it.reset();
    for (auto& name : dead)
      retire(name, false);
    // Stage markers whose key is already gone: drop their ranges too.
    std::vector<std::string> markers;
    it.reset(db->NewIterator({}, h(column::meta)));
    for (it->Seek("stage/"); it->Valid() && it->key().starts_with("stage/"); it->Next())
      markers.push_back(it->key().ToString().substr(6));
    it.reset();
    for (auto& name : markers)
      retire(name, false);
    sweep_orphan_ranges();
    // Once for all of them; and the log replayed at open goes too.
    release_logs();
  }

  /// Destroys each generation of `c` (its keys share their first `prefix_bytes`) whose data key,
  /// named by `key_name_of(first key)`, is gone. One seek per generation, not one per record.
  template <class KeyNameOf>
  void destroy_dead_generations(column c, size_t prefix_bytes, KeyNameOf key_name_of) {
    std::vector<std::string> dead;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator({}, h(c)));
    for (it->SeekToFirst(); it->Valid();) {
      auto k = view(it->key());
      if (k.size() < prefix_bytes)
        break;
      auto prefix = std::string(k.substr(0, prefix_bytes));
      if (!get(column::meta, key_name_of(k), nullptr))
        dead.push_back(prefix);
      auto end = keys::prefix_end(prefix);
      if (end.empty())
        break;
      it->Seek(end);
    }
    check(it->status(), "scan " + std::string(column_name(c)));
    it.reset();
    for (auto& p : dead)
      destroy_range(c, p, keys::prefix_end(p));
  }

  /// Records whose data key is gone (a crash between a rollover's crypto-erase and its range
  /// deletion, or in a retirement) cannot be read: finish destroying them. Walks the key space
  /// by prefix jumps, so it costs one seek per generation, not one per record.
  void sweep_orphan_ranges() {
    auto live_key = [&](const std::string& name) { return get(column::meta, name, nullptr); };
    destroy_dead_generations(column::residents, 4, [](std::string_view k) {
      return keys::data_key_residents(keys::read_u32(k, 0));
    });
    destroy_dead_generations(column::tax, 8, [](std::string_view k) {
      return keys::data_key_tax(static_cast<int32_t>(keys::read_u32(k, 0)), keys::read_u32(k, 4));
    });
    // Generation pointers of years whose key is gone: the year was being destroyed.
    std::vector<std::string> dead_pointers;
    {
      std::unique_ptr<rocksdb::Iterator> it(db->NewIterator({}, h(column::meta)));
      for (it->Seek("gen/tax/"); it->Valid() && it->key().starts_with("gen/tax/"); it->Next()) {
        auto year = std::stoi(it->key().ToString().substr(8));
        auto v = it->value();
        auto gen = v.size() == 4 ? keys::read_u32(view(v), 0) : 0;
        if (!live_key(keys::data_key_tax(year, gen)))
          dead_pointers.push_back(it->key().ToString());
      }
      check(it->status(), "scan generations");
    }
    for (auto& k : dead_pointers) {
      rocksdb::WriteOptions wo;
      wo.sync = true;
      check(db->Delete(wo, h(column::meta), slice(k)), "drop generation pointer");
    }
  }

  /// Destroys one generation named by its data key: key first, then records, then the marker.
  void retire(const std::string& data_key_name, bool flush = true) {
    destroy_data_key(data_key_name);
    auto [c, prefix] = range_of(data_key_name);
    destroy_range(c, prefix, keys::prefix_end(prefix));
    rocksdb::WriteOptions wo;
    wo.sync = true;
    check(db->Delete(wo, h(column::meta), slice(stage_marker(data_key_name))), "drop marker");
    // The wrapped key, and a delta's records, were written through the log: the crypto-erase
    // holds only once no log file keeps them. `flush` false: the caller flushes once for many.
    if (flush)
      release_logs();
  }

  static std::pair<column, std::string> range_of(const std::string& data_key_name) {
    if (data_key_name.rfind("dk/residents/", 0) == 0)
      return {column::residents,
              keys::resident_prefix(static_cast<uint32_t>(std::stoul(data_key_name.substr(13))))};
    auto slash = data_key_name.find('/', 7);
    return {column::tax,
            keys::tax_prefix(std::stoi(data_key_name.substr(7, slash - 7)),
                             static_cast<uint32_t>(std::stoul(data_key_name.substr(slash + 1))))};
  }
};

// -- snapshot and write_batch -------------------------------------------------------------------

snapshot::~snapshot() {
  db_->impl_->db->ReleaseSnapshot(static_cast<const rocksdb::Snapshot*>(snap_));
}

struct write_batch::impl {
  rocksdb::WriteBatch batch;
};

write_batch::write_batch(const database& db) : impl_(std::make_unique<impl>()), db_(&db) {
  // nop
}

write_batch::~write_batch() = default;
write_batch::write_batch(write_batch&&) noexcept = default;

void write_batch::put(column c, std::string_view key, std::string_view value) {
  check(impl_->batch.Put(db_->impl_->h(c), slice(key), slice(value)), "batch put");
}

void write_batch::del(column c, std::string_view key) {
  check(impl_->batch.Delete(db_->impl_->h(c), slice(key)), "batch delete");
}

size_t write_batch::count() const {
  return static_cast<size_t>(impl_->batch.Count());
}

// -- feed stages --------------------------------------------------------------------------------

namespace {

/// Residents who left: the `left/` entries of those removed, and the `gone/` parts still to be
/// removed, except anyone the current residents set holds again. A tax feed does not store their
/// records (data-lifecycle.md: they go with their tax records). Sorted.
digest_list left_residents(const database& db, const database::impl& impl) {
  digest_list out;
  db.scan(column::meta, keys::left_prefix(), keys::prefix_end(keys::left_prefix()),
          [&](std::string_view key, std::string_view) {
            auto bytes = from_hex(key.substr(keys::left_prefix().size()));
            if (bytes && bytes->size() == sizeof(digest256))
              append_digests(out, {reinterpret_cast<const char*>(bytes->data()), bytes->size()});
            return true;
          });
  db.scan(column::meta, keys::gone_prefix(), keys::prefix_end(keys::gone_prefix()),
          [&](std::string_view, std::string_view value) {
            append_digests(out, value);
            return true;
          });
  auto resident_gen = impl.generation(keys::generation_residents(), nullptr);
  if (resident_gen != 0)
    std::erase_if(out, [&](const digest256& mac) {
      return impl.get(column::residents, keys::resident(resident_gen, mac), nullptr).has_value();
    });
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

/// What both stage kinds share: which set, its keys, and how records are keyed and sealed.
struct stage_target {
  dataset set;
  std::optional<int32_t> fiscal_year;
  uint32_t generation = 0;
  std::string data_key_name;
  std::string generation_key;
  std::string sequence_key;
  uint64_t sequence = 0;
  bool new_generation = false; // the set is empty: this feed starts its generation
  /// Tax feeds: residents who left (left_residents() at the feed's start): their records are
  /// not stored.
  std::shared_ptr<const digest_list> skip;

  bool skipped(const digest256& mac) const { return skip && holds(*skip, mac); }

  std::string record_key(const digest256& mac) const {
    return set == dataset::residents ? keys::resident(generation, mac)
                                     : keys::tax(*fiscal_year, generation, mac);
  }
  column family() const { return set == dataset::residents ? column::residents : column::tax; }
};

/// Records on their way to the staging thread: per record its code and its encoded plaintext,
/// back to back in one buffer that is wiped when the batch has been sealed.
struct record_batch {
  std::string bytes;
  std::vector<std::pair<uint32_t, uint32_t>> items; // code bytes, plaintext bytes

  template <class Record>
  void add(std::string_view code, const Record& r) {
    room(code.size() + encoded_size(r));
    bytes.append(code);
    auto at = bytes.size();
    encode_append(bytes, r);
    items.emplace_back(static_cast<uint32_t>(code.size()), static_cast<uint32_t>(bytes.size() - at));
  }
  void add(std::string_view code, std::string_view plain) {
    room(code.size() + plain.size());
    bytes.append(code);
    bytes.append(plain);
    items.emplace_back(static_cast<uint32_t>(code.size()), static_cast<uint32_t>(plain.size()));
  }
  bool empty() const { return items.empty(); }
  void clear() {
    wipe(bytes);
    bytes.clear();
    items.clear();
  }

private:
  /// Grows by hand when `more` bytes might not fit, wiping the old buffer: std::string's own
  /// growth would leave a copy of the plaintexts in freed memory.
  void room(size_t more) {
    if (bytes.size() + more <= bytes.capacity())
      return;
    std::string bigger;
    bigger.reserve(std::max(2 * bytes.capacity(), bytes.size() + more + (size_t{1} << 16)));
    bigger.append(bytes);
    wipe(bytes);
    bytes.swap(bigger);
  }
};

class stage_base : public feed_stage {
public:
  stage_base(database::impl& db, stage_target t, const database& owner)
    : db_(db), owner_(owner), target_(std::move(t)),
      key_(db.data_key(target_.data_key_name, true)) {
    // nop
  }

  void put(const resident_record& r) override {
    if (target_.set != dataset::residents)
      throw storage_error("storage: a resident record staged into a tax feed");
    if (r.status != resident_status::active && r.status_date) {
      // A resident who left is deleted after retention.resident_days: the deletion timer finds
      // them through this index, written with the feed's commit.
      if (departures_.size() >= departures_max)
        throw storage_error("storage: a feed may record at most " + std::to_string(departures_max)
                            + " departures");
      departures_.push_back(
        keys::departure(yyyymmdd_of(*r.status_date), owner_.code_mac(r.resident_code)));
    }
    stage(r);
  }

  void put(const tax_record& r) override {
    if (target_.set != dataset::tax || r.fiscal_year != *target_.fiscal_year)
      throw storage_error("storage: a tax record staged into the wrong data set");
    stage(r);
  }

  void departed(const digest256& code_mac) override {
    if (target_.set != dataset::residents)
      throw storage_error("storage: a departure staged into a tax feed");
    gone_.append(reinterpret_cast<const char*>(code_mac.data()), code_mac.size());
  }

  uint64_t records_staged() const override { return staged_; }

protected:
  template <class Record>
  void stage(const Record& r) {
    if (auto* b = open_batch()) {
      b->add(r.resident_code, r); // encoded straight into the batch
      batch_added();
    } else {
      auto plain = encode(r);
      stage_record(r.resident_code, plain);
      wipe(plain);
    }
    ++staged_;
  }

  /// A batch that records are encoded into directly, or nullptr (then stage_record()).
  virtual record_batch* open_batch() { return nullptr; }
  /// After a record went into open_batch().
  virtual void batch_added() {
    // nop
  }
  /// One record: its code (keyed by its HMAC) and its encoded plaintext (sealed under the key).
  virtual void stage_record(std::string_view code, std::string_view plain) = 0;

  /// Adds the departure index entries, and the list of those who left at once, to the commit
  /// batch.
  void add_departures(rocksdb::WriteBatch& b) {
    for (auto& k : departures_)
      check(b.Put(db_.h(column::meta), slice(k), slice("")), "commit departures");
    constexpr size_t part_bytes = departed_batch_max * sizeof(digest256);
    for (size_t from = 0, part = 0; from < gone_.size(); from += part_bytes, ++part)
      check(b.Put(db_.h(column::meta), slice(keys::gone_part(target_.sequence,
                                                             static_cast<uint32_t>(part))),
                  slice(std::string_view(gone_).substr(from, part_bytes))),
            "commit departures");
  }

  static uint32_t yyyymmdd_of(const civil_date& d) {
    return static_cast<uint32_t>(d.year) * 10000 + d.month * 100u + d.day;
  }

  database::impl& db_;
  const database& owner_;
  stage_target target_;
  key256 key_;
  uint64_t staged_ = 0;
  /// After the commit: the list is in the database now.
  void release_departed() { std::string().swap(gone_); }

  /// Under the commit lock. A tax feed: residents who left while it was staged (their removal
  /// read the generation before this one) lose their records of this feed too; returns those
  /// records' keys, to be compacted away after the commit. A residents feed: whoever it holds is
  /// no longer taken for gone. `in_new_set`: whether the feed stored a person.
  template <class InNewSet>
  std::vector<std::string> settle_departures(rocksdb::WriteBatch& b, InNewSet in_new_set) {
    std::vector<std::string> dropped;
    if (target_.set == dataset::tax) {
      for (auto& mac : left_residents(owner_, db_))
        if (!target_.skipped(mac) && in_new_set(mac)) {
          dropped.push_back(target_.record_key(mac));
          check(b.Delete(db_.h(column::tax), slice(dropped.back())), "commit");
        }
      return dropped;
    }
    owner_.scan(column::meta, keys::left_prefix(), keys::prefix_end(keys::left_prefix()),
                [&](std::string_view key, std::string_view) {
                  auto bytes = from_hex(key.substr(keys::left_prefix().size()));
                  if (!bytes || bytes->size() != sizeof(digest256))
                    return true;
                  digest256 mac;
                  std::copy(bytes->begin(), bytes->end(), mac.begin());
                  if (in_new_set(mac))
                    check(b.Delete(db_.h(column::meta), slice(key)), "commit");
                  return true;
                });
    return dropped;
  }

  std::vector<std::string> departures_;
  std::string gone_; // keyed hashes of residents who left at once, back to back
};

/// Seals records and writes them as sorted runs, one SST file per run: the records of a run are
/// collected (sealed, with their keys) in one buffer of at most `run_bytes`, sorted by key and
/// written through rocksdb::SstFileWriter into the stage folder. The runs overlap one another (the
/// keys are HMACs, in random order); IngestExternalFile takes them all at once at the commit.
///
/// The buffer is cut into up to 256 slices, one per range of the HMAC's first byte (the HMACs are
/// uniform, so the slices fill evenly; the run ends when one is full). A slice (about 512 KiB) is
/// sorted and written while it sits in the cache, instead of gathering a million records from
/// random places of 128 MiB.
class run_writer {
public:
  run_writer(database::impl& db, const database& owner, const stage_target& t, const key256& key,
             std::string folder)
    : db_(db), owner_(owner), family_(t.family()), target_(t), sealer_(key),
      folder_(std::move(folder)),
      run_bytes_(std::clamp<size_t>(db.options.stage_run_bytes, 1, UINT32_MAX)) {
    auto probe = t.record_key(digest256{});
    key_prefix_ = probe.substr(0, probe.size() - sizeof(digest256));
    key_bytes_ = probe.size();
    slices_ = std::clamp<size_t>(run_bytes_ / slice_bytes_min, 1, 256);
    slice_bytes_ = run_bytes_ / slices_;
    used_.assign(slices_, 0);
    entries_.resize(slices_);
  }

  void add(std::string_view code, std::string_view plain) {
    auto need = key_bytes_ + plain.size() + seal_overhead_bytes;
    auto mac = owner_.code_mac(code);
    if (target_.skipped(mac)) {
      ++skipped_;
      return;
    }
    size_t slice = (size_t{mac[0]} * slices_) >> 8;
    if (count_ > 0 && (total_ + need > run_bytes_ || used_[slice] + need > slice_bytes_))
      spill();
    if (need > slice_bytes_) {
      // Only with a tiny run size (tests): one slice, grown to hold the record.
      if (slices_ != 1 || need > UINT32_MAX)
        throw storage_error("storage: a staged record is larger than a stage run");
      slice_bytes_ = need;
      arena_.reset();
    }
    if (!arena_)
      arena_.reset(new char[slices_ * slice_bytes_]); // written before read: no need to zero it
    size_t offset = slice * slice_bytes_ + used_[slice];
    char* at = arena_.get() + offset;
    std::memcpy(at, key_prefix_.data(), key_prefix_.size());
    std::memcpy(at + key_prefix_.size(), mac.data(), mac.size());
    std::string_view key_view(at, key_bytes_);
    entry e;
    e.order = keys::read_u64(key_view, key_prefix_.size());
    e.offset = static_cast<uint32_t>(offset);
    e.value_bytes = static_cast<uint32_t>(plain.size() + seal_overhead_bytes);
    sealer_.seal_to(reinterpret_cast<uint8_t*>(at + key_bytes_), key_view, plain);
    used_[slice] += need;
    total_ += need;
    ++count_;
    entries_[slice].push_back(e);
  }

  /// Writes the last run; then files() is complete.
  void finish() { spill(); }

  /// Records not stored: their residents had left (stage_target::skip).
  uint64_t skipped() const { return skipped_; }

  const std::vector<std::string>& files() const { return files_; }

private:
  /// Slices smaller than this are not worth it; a run smaller than two is one slice.
  static constexpr size_t slice_bytes_min = size_t{256} << 10;

  struct entry {
    uint64_t order;       // the first 8 bytes of the HMAC, big-endian: the sort key, mostly
    uint32_t offset;      // of the key in arena_; the value follows it
    uint32_t value_bytes;
  };

  void spill() {
    if (count_ == 0)
      return;
    if (!writer_options_) {
      writer_options_ = std::make_unique<rocksdb::Options>(db_.db->GetDBOptions(),
                                                           db_.db->GetOptions(db_.h(family_)));
      // Ciphertext does not compress: do not try.
      writer_options_->compression = rocksdb::kNoCompression;
      writer_options_->bottommost_compression = rocksdb::kDisableCompressionOption;
      std::error_code ec;
      std::filesystem::create_directories(folder_, ec);
      if (ec)
        throw storage_error("storage: cannot create the stage folder " + folder_ + ": "
                            + ec.message());
    }
    char name[32];
    std::snprintf(name, sizeof(name), "/%06zu.sst", files_.size() + 1);
    auto path = folder_ + name;
    rocksdb::EnvOptions eo;
    eo.bytes_per_sync = size_t{1} << 20; // write back as it goes; the sync at Finish() is short
    rocksdb::SstFileWriter w(eo, *writer_options_, db_.h(family_),
                             /*invalidate_page_cache=*/false);
    check(w.Open(path), "open stage file");
    files_.push_back(path); // removed with the folder if anything below fails
    const char* base = arena_.get();
    const size_t tail = key_prefix_.size() + 8; // the key's bytes after the prefix and `order`
    // Slices in key order (by the HMAC's first byte), each sorted on its own.
    for (auto& slice : entries_) {
      // Equal keys (one code staged twice): insertion order decides, the last one is kept.
      std::sort(slice.begin(), slice.end(), [&](const entry& a, const entry& b) {
        if (a.order != b.order)
          return a.order < b.order;
        int c = std::memcmp(base + a.offset + tail, base + b.offset + tail, key_bytes_ - tail);
        return c != 0 ? c < 0 : a.offset < b.offset;
      });
      for (size_t i = 0; i < slice.size(); ++i) {
        if (i + 1 < slice.size() && slice[i].order == slice[i + 1].order
            && std::memcmp(base + slice[i].offset, base + slice[i + 1].offset, key_bytes_) == 0)
          continue; // a later put of the same code follows
        auto& e = slice[i];
        check(w.Put(rocksdb::Slice(base + e.offset, key_bytes_),
                    rocksdb::Slice(base + e.offset + key_bytes_, e.value_bytes)),
              "write stage file");
      }
      slice.clear();
    }
    check(w.Finish(), "finish stage file");
    std::fill(used_.begin(), used_.end(), 0);
    total_ = 0;
    count_ = 0;
  }

  database::impl& db_;
  const database& owner_;
  column family_;
  const stage_target& target_; // the stage's, which outlives this writer
  uint64_t skipped_ = 0;        // records of residents who left, not stored
  sealer sealer_;
  std::string folder_;
  size_t run_bytes_;
  std::string key_prefix_;
  size_t key_bytes_ = 0;
  size_t slices_ = 1;
  size_t slice_bytes_ = 0;
  std::unique_ptr<char[]> arena_; // key || sealed value, per record (HMACs and ciphertext only)
  std::vector<size_t> used_;      // bytes used in each slice
  std::vector<std::vector<entry>> entries_; // per slice
  size_t total_ = 0;
  size_t count_ = 0;
  std::unique_ptr<rocksdb::Options> writer_options_;
  std::vector<std::string> files_;
};

/// A full feed: a new generation. The feed thread encodes the records and hands them in batches
/// to a staging thread, which computes the HMACs, seals and writes sorted SST runs into the stage
/// folder; commit() ingests the runs (unreachable: no generation pointer names them yet) and then
/// switches the generation pointer in one synced write.
class full_stage final : public stage_base {
public:
  full_stage(database::impl& db, stage_target t, const database& owner)
    : stage_base(db, std::move(t), owner),
      folder_(db.stage_root() + "/" + folder_name(target_)),
      runs_(db, owner, target_, key_, folder_),
      threaded_(db.options.stage_thread),
      batch_records_(std::max<size_t>(db.options.stage_batch_records, 1)),
      queue_max_(std::max<size_t>(db.options.stage_queue_batches, 1)) {
    db_.put_sync(column::meta, database::impl::stage_marker(target_.data_key_name), "");
    remove_folder(); // a leftover of an earlier attempt at this generation
    if (threaded_)
      worker_ = std::thread([this] { work(); });
  }

  ~full_stage() override {
    if (!done_) {
      try {
        abort();
      } catch (...) {
        // The stage marker stays; the next start sweeps the generation and the files.
      }
    }
    stop(true);
    current_.clear();
  }

  void remove(std::string_view) override {
    throw storage_error("storage: a full feed has no deletions");
  }

  void commit() override {
    if (!current_.empty())
      hand_over();
    stop(false);
    {
      std::lock_guard lock(mutex_);
      if (error_)
        std::rethrow_exception(error_);
    }
    if (!threaded_)
      runs_.finish();
    // Before the ingest, so that a refused year costs nothing more; checked again below.
    db_.check_year_kept(target_.fiscal_year);
    if (!runs_.files().empty()) {
      rocksdb::IngestExternalFileOptions io;
      io.move_files = true;           // hard links: the files are under the database folder
      io.write_global_seqno = false;  // the sequence number lives in the MANIFEST only
      io.snapshot_consistency = true; // open snapshots do not see the new files
      check(db_.db->IngestExternalFile(db_.h(target_.family()), runs_.files(), io),
            "ingest the stage files");
    }
    // Until this write the ingested records are unreachable: keys carry the generation, and the
    // pointer still names the old one. A crash before it leaves the stage marker, and the next
    // start destroys the generation's range.
    auto years = db_.lock_year_kept(target_.fiscal_year);
    auto old_generation = db_.generation(target_.generation_key, nullptr);
    rocksdb::WriteBatch b;
    // The ingested files are visible to a read before the pointer names their generation.
    auto dropped = settle_departures(b, [&](const digest256& mac) {
      return db_.get(target_.family(), target_.record_key(mac), nullptr).has_value();
    });
    late_skipped_ = dropped.size();
    std::string gen;
    keys::append_u32(gen, target_.generation);
    check(b.Put(db_.h(column::meta), slice(target_.generation_key), slice(gen)), "commit");
    check(b.Put(db_.h(column::meta), slice(target_.sequence_key),
                slice(encode_u64(target_.sequence))),
          "commit");
    check(b.Delete(db_.h(column::meta),
                   slice(database::impl::stage_marker(target_.data_key_name))),
          "commit");
    add_departures(b);
    rocksdb::WriteOptions wo;
    wo.sync = true;
    check(db_.db->Write(wo, &b), "commit feed");
    committed_ = true;
    if (years.owns_lock())
      years.unlock();
    done_ = true;
    b.Clear();
    release_departed();
    remove_folder_quietly();
    // The feed is applied: nothing below may fail it (nor make abort() retire the new
    // generation). A failure leaves the old generation to the next start's sweep, and dropped
    // records to RocksDB's own compactions.
    try {
      if (old_generation != 0)
        db_.retire(target_.set == dataset::residents
                     ? keys::data_key_residents(old_generation)
                     : keys::data_key_tax(*target_.fiscal_year, old_generation));
      if (!dropped.empty()) {
        db_.compact_keys(target_.family(), dropped);
        db_.release_logs();
      }
    } catch (const std::exception&) {
      // nop
    }
  }

  uint64_t records_skipped() const override { return runs_.skipped() + late_skipped_; }

  void abort() override {
    if (committed_)
      return;
    done_ = true;
    stop(true);
    current_.clear();
    remove_folder_quietly();
    db_.retire(target_.data_key_name);
  }

private:
  static std::string folder_name(const stage_target& t) {
    return t.set == dataset::residents
             ? "residents-" + std::to_string(t.generation)
             : "tax-" + std::to_string(*t.fiscal_year) + "-" + std::to_string(t.generation);
  }

  record_batch* open_batch() override { return &current_; }

  void batch_added() override {
    if (current_.items.size() >= batch_records_)
      hand_over();
  }

  void stage_record(std::string_view code, std::string_view plain) override {
    current_.add(code, plain);
    batch_added();
  }

  /// The current batch to the staging thread (waits while the queue is full), or, without a
  /// staging thread, sealed and written here.
  void hand_over() {
    if (!threaded_) {
      seal_batch(current_);
      current_.clear();
      return;
    }
    std::unique_lock lock(mutex_);
    space_.wait(lock, [&] { return queue_.size() < queue_max_ || error_; });
    if (error_)
      std::rethrow_exception(error_);
    queue_.push_back(std::move(current_));
    current_ = record_batch{};
    ready_.notify_one();
  }

  void seal_batch(const record_batch& b) {
    size_t at = 0;
    std::string_view bytes = b.bytes;
    for (auto [code_bytes, plain_bytes] : b.items) {
      runs_.add(bytes.substr(at, code_bytes), bytes.substr(at + code_bytes, plain_bytes));
      at += code_bytes + plain_bytes;
    }
  }

  /// The staging thread: seals the batches and writes the runs, then the last run when closed.
  void work() {
    pthread_setname_np(pthread_self(), "kofu-stage"); // for ps and perf
    for (;;) {
      record_batch b;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [&] { return !queue_.empty() || closed_ || cancelled_; });
        if (cancelled_ || (queue_.empty() && closed_))
          break;
        b = std::move(queue_.front());
        queue_.pop_front();
        space_.notify_one();
      }
      try {
        seal_batch(b);
      } catch (...) {
        fail(std::current_exception());
        b.clear();
        return;
      }
      b.clear();
    }
    bool finish = false;
    {
      std::lock_guard lock(mutex_);
      finish = closed_ && !cancelled_;
    }
    if (finish) {
      try {
        runs_.finish();
      } catch (...) {
        fail(std::current_exception());
      }
    }
  }

  void fail(std::exception_ptr e) {
    std::lock_guard lock(mutex_);
    error_ = e;
    for (auto& q : queue_)
      q.clear();
    queue_.clear();
    space_.notify_all();
  }

  /// Ends the staging thread: after the queue is done (`cancel` false) or at once.
  void stop(bool cancel) {
    if (!worker_.joinable())
      return;
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
      cancelled_ = cancelled_ || cancel;
      ready_.notify_all();
    }
    worker_.join();
    std::lock_guard lock(mutex_);
    for (auto& q : queue_)
      q.clear();
    queue_.clear();
  }

  void remove_folder() {
    std::error_code ec;
    std::filesystem::remove_all(folder_, ec);
    if (ec)
      throw storage_error("storage: cannot remove the stage folder " + folder_ + ": "
                          + ec.message());
  }

  void remove_folder_quietly() {
    std::error_code ec;
    std::filesystem::remove_all(folder_, ec); // a failure leaves them to the next start
  }

  std::string folder_;
  run_writer runs_;
  bool threaded_;
  size_t batch_records_;
  size_t queue_max_;
  record_batch current_;
  std::mutex mutex_;
  std::condition_variable ready_; // a batch is queued, or the stage closes
  std::condition_variable space_; // the queue has room, or the staging thread failed
  std::deque<record_batch> queue_;
  bool closed_ = false;
  bool cancelled_ = false;
  std::exception_ptr error_;
  std::thread worker_;
  bool done_ = false;
  bool committed_ = false; // the commit's write landed: the feed is applied
  uint64_t late_skipped_ = 0; // records dropped at the commit (settle_departures)
};

/// A delta feed: every change in one batch, written with the sequence in one synced write.
class delta_stage final : public stage_base {
public:
  delta_stage(database::impl& db, stage_target t, const database& owner)
    : stage_base(db, std::move(t), owner), sealer_(key_) {
    // nop
  }

  void remove(std::string_view code) override {
    auto mac = owner_.code_mac(code);
    put_macs_.erase(mac); // a later line of the delta wins
    auto key = target_.record_key(mac);
    check(batch_.Delete(db_.h(target_.family()), slice(key)), "stage delete");
    removed_.push_back(std::move(key));
    ++staged_;
    check_bound();
  }

  void commit() override {
    auto years = db_.lock_year_kept(target_.fiscal_year);
    // Deletions onto an empty set change nothing (feeds.md): the set, a tax year among them,
    // stays unloaded, and only the feed's sequence is recorded.
    bool empty = target_.new_generation && puts_ == 0;
    for (auto& key : settle_departures(batch_, [&](const digest256& mac) {
           return put_macs_.count(mac) != 0;
         })) {
      removed_.push_back(std::move(key)); // compacted away with the delta's deletions
      ++skipped_;
    }
    if (!empty) {
      std::string gen;
      keys::append_u32(gen, target_.generation);
      check(batch_.Put(db_.h(column::meta), slice(target_.generation_key), slice(gen)), "commit");
    }
    check(batch_.Put(db_.h(column::meta), slice(target_.sequence_key),
                     slice(encode_u64(target_.sequence))),
          "commit");
    add_departures(batch_);
    rocksdb::WriteOptions wo;
    wo.sync = true;
    check(db_.db->Write(wo, &batch_), "commit delta");
    if (years.owns_lock())
      years.unlock();
    batch_ = rocksdb::WriteBatch(); // its memory too
    release_departed();
    // The delta is applied: nothing below may fail it. A failure leaves the key made for a
    // generation not begun to the next start's sweep, and deleted versions to RocksDB's own
    // compactions.
    try {
      if (empty) {
        db_.destroy_data_key(target_.data_key_name);
      } else if (!removed_.empty()) {
        // Physically (data-lifecycle.md): the deleted records' versions leave the files.
        db_.compact_keys(target_.family(), removed_);
        db_.release_logs();
      }
    } catch (const std::exception&) {
      // nop
    }
    removed_.clear();
  }

  uint64_t records_skipped() const override { return skipped_; }

  void abort() override {
    batch_.Clear();
    removed_.clear();
  }

private:
  void stage_record(std::string_view code, std::string_view plain) override {
    auto mac = owner_.code_mac(code);
    if (target_.skipped(mac)) {
      ++skipped_;
      return;
    }
    auto key = target_.record_key(mac);
    auto sealed = sealer_.seal(key, plain);
    check(batch_.Put(db_.h(target_.family()), slice(key), slice(sealed)), "stage");
    put_macs_.insert(mac);
    ++puts_;
    check_bound();
  }

  void check_bound() {
    if (staged_ >= delta_records_max)
      throw storage_error("storage: a delta feed may change at most "
                          + std::to_string(delta_records_max)
                          + " records; deliver a full feed instead");
  }

  sealer sealer_; // the generation's key, reused by every delta: a fresh nonce prefix per feed
  std::vector<std::string> removed_; // keys deleted by this delta
  uint64_t puts_ = 0;                // records inserted or replaced
  uint64_t skipped_ = 0;             // records of residents who left, not stored
  std::set<digest256> put_macs_;     // whose records it inserts or replaces (and keeps)
  rocksdb::WriteBatch batch_;
};

} // namespace

// -- database -----------------------------------------------------------------------------------

database::database(std::unique_ptr<impl> p) : impl_(std::move(p)) {
  // nop
}

database::~database() = default;

std::unique_ptr<database> database::open(const std::string& dir, const key256& master,
                                         const database_options& opts) {
  auto p = std::make_unique<impl>();
  p->dir = dir;
  p->options = opts;
  p->wrap_key = derive_key(master, wrap_key_label);
  rocksdb::DBOptions options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.paranoid_checks = true;
  options.max_background_jobs = 2;
  options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  families.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions{});
  for (size_t i = 0; i < column_count; ++i) {
    rocksdb::ColumnFamilyOptions cfo;
    families.emplace_back(std::string(column_name(static_cast<column>(i))), cfo);
  }
  rocksdb::DB* raw = nullptr;
  check(rocksdb::DB::Open(options, dir, families, &p->handles, &raw), "open " + dir);
  p->db.reset(raw);
  for (size_t i = 0; i < column_count; ++i)
    p->cf[i] = p->handles[i + 1];
  p->check_master_key();
  p->code_key = p->data_key(keys::named_key("resident-code"), true);
  p->code_mac_key = std::make_unique<hmac_key>(p->code_key);
  p->holds_key = p->data_key(keys::named_key("holds"), true);
  p->remove_stage_files();
  p->sweep_generations();
  return std::unique_ptr<database>(new database(std::move(p)));
}

digest256 database::code_mac(std::string_view resident_code) const {
  return impl_->code_mac_key->mac(resident_code);
}

std::string database::stage_dir() const {
  return impl_->stage_root();
}

std::unique_ptr<snapshot> database::take_snapshot() const {
  return std::unique_ptr<snapshot>(new snapshot(this, impl_->db->GetSnapshot()));
}

namespace {

const rocksdb::Snapshot* raw(const snapshot* s, const void* snap_field) {
  return s == nullptr ? nullptr : static_cast<const rocksdb::Snapshot*>(snap_field);
}

} // namespace

std::optional<resident_record> database::resident(const snapshot& s, std::string_view code) const {
  auto snap = static_cast<const rocksdb::Snapshot*>(s.snap_);
  auto gen = impl_->generation(keys::generation_residents(), snap);
  if (gen == 0)
    return std::nullopt;
  auto key = keys::resident(gen, code_mac(code));
  auto sealed = impl_->get(column::residents, key, snap);
  if (!sealed)
    return std::nullopt;
  auto plain = storage::open(impl_->data_key(keys::data_key_residents(gen), false), key, *sealed);
  if (!plain)
    throw storage_error("storage: a resident record does not decrypt");
  auto r = decode_resident(plain->view());
  if (!r || r->resident_code != code)
    throw storage_error("storage: a resident record is corrupt");
  return r;
}

std::optional<tax_record> database::tax(const snapshot& s, int32_t fiscal_year,
                                        std::string_view code) const {
  auto snap = static_cast<const rocksdb::Snapshot*>(s.snap_);
  auto gen = impl_->generation(keys::generation_tax(fiscal_year), snap);
  if (gen == 0)
    return std::nullopt;
  auto key = keys::tax(fiscal_year, gen, code_mac(code));
  auto sealed = impl_->get(column::tax, key, snap);
  if (!sealed)
    return std::nullopt;
  auto plain = storage::open(impl_->data_key(keys::data_key_tax(fiscal_year, gen), false), key,
                             *sealed);
  if (!plain)
    throw storage_error("storage: a tax record does not decrypt");
  auto r = decode_tax(plain->view());
  if (!r || r->resident_code != code || r->fiscal_year != fiscal_year)
    throw storage_error("storage: a tax record is corrupt");
  return r;
}

std::optional<int32_t> database::open_fiscal_year(const snapshot* s) const {
  auto v = impl_->get(column::meta, "open_year", raw(s, s ? s->snap_ : nullptr));
  if (!v || v->size() != 4)
    return std::nullopt;
  return static_cast<int32_t>(keys::read_u32(*v, 0));
}

bool database::tax_year_loaded(const snapshot& s, int32_t fiscal_year) const {
  return impl_->generation(keys::generation_tax(fiscal_year),
                           static_cast<const rocksdb::Snapshot*>(s.snap_))
         != 0;
}

std::vector<int32_t> database::loaded_tax_years(const snapshot* s) const {
  std::vector<int32_t> years;
  scan(column::meta, "gen/tax/", "gen/tax0",
       [&](std::string_view key, std::string_view) {
         years.push_back(std::stoi(std::string(key.substr(8))));
         return true;
       },
       s);
  std::sort(years.begin(), years.end());
  return years;
}

uint64_t database::last_sequence(dataset d, std::optional<int32_t> fiscal_year) const {
  auto key = d == dataset::residents ? keys::sequence_residents()
                                     : keys::sequence_tax(fiscal_year.value_or(0));
  auto v = impl_->get(column::meta, key, nullptr);
  return v && v->size() == 8 ? keys::read_u64(*v, 0) : 0;
}

uint64_t database::record_count(dataset d, std::optional<int32_t> fiscal_year) const {
  auto gen = impl_->generation(d == dataset::residents
                                 ? keys::generation_residents()
                                 : keys::generation_tax(fiscal_year.value_or(0)),
                               nullptr);
  if (gen == 0)
    return 0;
  auto prefix = d == dataset::residents ? keys::resident_prefix(gen)
                                        : keys::tax_prefix(fiscal_year.value_or(0), gen);
  uint64_t n = 0;
  scan(d == dataset::residents ? column::residents : column::tax, prefix,
       keys::prefix_end(prefix), [&](std::string_view, std::string_view) {
         ++n;
         return true;
       });
  return n;
}

std::unique_ptr<feed_stage> database::begin_feed(dataset d, std::optional<int32_t> fiscal_year,
                                                 bool full, uint64_t sequence) {
  if (d == dataset::tax && !fiscal_year)
    throw storage_error("storage: a tax feed needs its fiscal year");
  auto last = last_sequence(d, fiscal_year);
  if (sequence <= last)
    throw storage_error("storage: sequence " + std::to_string(sequence)
                        + " is not above the last applied " + std::to_string(last));
  stage_target t;
  t.set = d;
  t.fiscal_year = d == dataset::tax ? fiscal_year : std::nullopt;
  t.sequence = sequence;
  t.generation_key = d == dataset::residents ? keys::generation_residents()
                                             : keys::generation_tax(*fiscal_year);
  t.sequence_key = d == dataset::residents ? keys::sequence_residents()
                                           : keys::sequence_tax(*fiscal_year);
  auto current = impl_->generation(t.generation_key, nullptr);
  // A delta onto an empty set starts generation 1; a full feed always takes the next one.
  t.generation = full || current == 0 ? current + 1 : current;
  t.new_generation = full || current == 0;
  if (d == dataset::tax)
    t.skip = std::make_shared<const digest_list>(left_residents(*this, *impl_));
  t.data_key_name = d == dataset::residents ? keys::data_key_residents(t.generation)
                                            : keys::data_key_tax(*fiscal_year, t.generation);
  if (full)
    return std::make_unique<full_stage>(*impl_, std::move(t), *this);
  return std::make_unique<delta_stage>(*impl_, std::move(t), *this);
}

namespace {

std::string kept_from_value(int32_t fiscal_year) {
  std::string v;
  keys::append_u32(v, static_cast<uint32_t>(fiscal_year));
  return v;
}

} // namespace

std::string year_not_kept_message(int32_t fiscal_year, int32_t kept_from) {
  return "fiscal year " + std::to_string(fiscal_year)
         + " is no longer kept: the last rollover kept only the years from "
         + std::to_string(kept_from) + " (retention.fiscal_years) and destroyed the older ones";
}

std::optional<int32_t> database::tax_kept_from() const {
  return impl_->tax_kept_from();
}

void database::keep_tax_years_from(int32_t fiscal_year) {
  std::lock_guard years(impl_->years_mutex);
  impl_->put_sync(column::meta, "tax_kept_from", kept_from_value(fiscal_year));
}

rollover_result database::rollover(int32_t fiscal_year, uint32_t keep_years) {
  rollover_result result;
  result.fiscal_year = fiscal_year;
  std::string year;
  keys::append_u32(year, static_cast<uint32_t>(fiscal_year));
  {
    // From this write on, a tax feed's commit refuses the years destroyed below; one committed
    // before it is among the loaded years destroyed below.
    std::lock_guard years(impl_->years_mutex);
    write_batch b(*this);
    b.put(column::meta, "open_year", year);
    b.put(column::meta, "tax_kept_from",
          kept_from_value(fiscal_year - static_cast<int32_t>(keep_years) + 1));
    write(b, true);
  }
  for (auto y : loaded_tax_years()) {
    if (y > fiscal_year - static_cast<int32_t>(keep_years))
      continue;
    auto gen = impl_->generation(keys::generation_tax(y), nullptr);
    result.destroyed[y] = record_count(dataset::tax, y);
    // Crypto-erase first: from here on the year's records cannot be read.
    impl_->destroy_data_key(keys::data_key_tax(y, gen));
    write_batch b(*this);
    b.del(column::meta, keys::generation_tax(y));
    write(b, true);
    impl_->destroy_range(column::tax, keys::tax_year_prefix(y),
                         keys::prefix_end(keys::tax_year_prefix(y)));
  }
  // A year of margin: a departure with a status_date still to come is deleted at once (the
  // default retention), though the person may be a resident on the next 1 January.
  forget_left(static_cast<uint32_t>(fiscal_year - static_cast<int32_t>(keep_years)) * 10000 + 101);
  impl_->release_logs(); // the destroyed years' keys and records written through the log
  for (auto y : loaded_tax_years())
    if (y <= fiscal_year)
      result.open_years.push_back(y);
  return result;
}

void database::forget_left(uint32_t before_yyyymmdd) {
  // Whoever left before 1 January of the oldest year kept is in no tax feed of a year still
  // accepted (the tax of a year is levied on the residents of its 1 January).
  auto lock = impl_->lock_year_kept(std::nullopt);
  write_batch b(*this);
  size_t n = 0;
  scan(column::meta, keys::left_prefix(), keys::prefix_end(keys::left_prefix()),
       [&](std::string_view key, std::string_view value) {
         if (value.size() == 4 && keys::read_u32(value, 0) < before_yyyymmdd) {
           b.del(column::meta, key);
           ++n;
         }
         return true;
       });
  if (n > 0)
    write(b, true);
}

struct database::removal_spans {
  std::map<int32_t, std::pair<std::string, std::string>> tax; // per fiscal year
  std::pair<std::string, std::string> holds;

  static void widen(std::pair<std::string, std::string>& span, const std::string& key) {
    if (span.first.empty() || key < span.first)
      span.first = key;
    if (key > span.second)
      span.second = key;
  }
};

void database::remove_departed(const std::vector<digest256>& resident_macs) {
  removal_spans spans;
  remove_persons(resident_macs, spans);
  erase_physically(spans);
}

uint64_t database::remove_departed() {
  std::vector<std::string> parts;
  scan(column::meta, keys::gone_prefix(), keys::prefix_end(keys::gone_prefix()),
       [&](std::string_view key, std::string_view) {
         parts.emplace_back(key);
         return true;
       });
  if (parts.empty())
    return 0;
  removal_spans spans;
  uint64_t handled = 0;
  for (auto& part : parts) {
    auto v = impl_->get(column::meta, part, nullptr);
    std::vector<digest256> macs(v ? v->size() / sizeof(digest256) : 0);
    for (size_t i = 0; i < macs.size(); ++i)
      std::memcpy(macs[i].data(), v->data() + i * sizeof(digest256), sizeof(digest256));
    handled += remove_persons(macs, spans);
  }
  erase_physically(spans);
  write_batch b(*this);
  for (auto& part : parts)
    b.del(column::meta, part);
  write(b, true);
  return handled;
}

uint64_t database::remove_persons(const std::vector<digest256>& resident_macs,
                                  removal_spans& spans) {
  auto left = left_value();
  uint64_t handled = 0;
  for (size_t from = 0; from < resident_macs.size(); from += departed_batch_max) {
    auto to = std::min(resident_macs.size(), from + departed_batch_max);
    // A feed's commit between reading the generations and this write would keep the records of
    // its new generation (feed_stage::commit deletes them under the same lock afterwards).
    auto lock = impl_->lock_year_kept(std::nullopt);
    std::vector<std::pair<int32_t, uint32_t>> generations;
    for (auto year : loaded_tax_years())
      generations.emplace_back(year, impl_->generation(keys::generation_tax(year), nullptr));
    auto resident_gen = impl_->generation(keys::generation_residents(), nullptr);
    write_batch b(*this);
    for (size_t i = from; i < to; ++i) {
      auto& mac = resident_macs[i];
      // A later feed brought them back: what they have now is theirs.
      if (resident_gen != 0
          && impl_->get(column::residents, keys::resident(resident_gen, mac), nullptr))
        continue;
      for (auto& [year, gen] : generations) {
        auto key = keys::tax(year, gen, mac);
        removal_spans::widen(spans.tax[year], key);
        b.del(column::tax, key);
      }
      auto key = keys::hold(mac);
      removal_spans::widen(spans.holds, key);
      b.del(column::holds, key);
      // Dated by the first time (a full feed may report the same departure again and again).
      if (!impl_->get(column::meta, keys::left(mac), nullptr))
        b.put(column::meta, keys::left(mac), left);
      ++handled;
    }
    write(b, true);
  }
  return handled;
}


void database::erase_physically(const removal_spans& spans) {
  // Physically, as the residents they belonged to (data-lifecycle.md).
  for (auto& [year, span] : spans.tax)
    impl_->compact_keys(column::tax, {span.first, span.second});
  if (!spans.holds.first.empty())
    impl_->compact_keys(column::holds, {spans.holds.first, spans.holds.second});
  impl_->release_logs();
}

bool departure_due(const civil_date& status_date, uint32_t resident_days, const civil_date& today) {
  return resident_days == 0 || days_from_civil(status_date) + resident_days <= days_from_civil(today);
}

uint64_t database::sweep_departed(const civil_date& today, uint32_t resident_days) {
  auto cutoff = civil_from_days(days_from_civil(today) - resident_days);
  auto upto = resident_days == 0
                ? keys::prefix_end(keys::departure_prefix())
                : keys::departure_prefix() + std::to_string(static_cast<uint32_t>(cutoff.year) * 10000
                                                            + cutoff.month * 100u + cutoff.day + 1);
  std::vector<std::string> entries;
  scan(column::meta, keys::departure_prefix(), upto, [&](std::string_view key, std::string_view) {
    entries.emplace_back(key);
    return entries.size() < departures_max;
  });
  if (entries.empty())
    return 0;
  uint64_t deleted = 0;
  std::set<uint32_t> resident_gens; // and the years, compacted after
  std::set<int32_t> years_seen;
  for (size_t from = 0; from < entries.size(); from += departed_batch_max) {
    auto to = std::min(entries.size(), from + departed_batch_max);
    auto lock = impl_->lock_year_kept(std::nullopt); // as remove_persons(), a part at a time
    auto gen = impl_->generation(keys::generation_residents(), nullptr);
    auto years = loaded_tax_years();
    resident_gens.insert(gen);
    years_seen.insert(years.begin(), years.end());
    write_batch b(*this);
    for (size_t i = from; i < to; ++i) {
      auto& entry = entries[i];
      auto mac_bytes = from_hex(std::string_view(entry).substr(entry.rfind('/') + 1));
      if (!mac_bytes || mac_bytes->size() != 32 || gen == 0)
        continue;
      digest256 mac{};
      std::copy(mac_bytes->begin(), mac_bytes->end(), mac.begin());
      auto key = keys::resident(gen, mac);
      auto sealed = impl_->get(column::residents, key, nullptr);
      if (!sealed)
        continue;
      auto plain =
        storage::open(impl_->data_key(keys::data_key_residents(gen), false), key, *sealed);
      auto r = plain ? decode_resident(plain->view()) : std::nullopt;
      // Only a resident who is still gone, and long enough, is deleted (a later feed may have
      // brought them back).
      if (!r || r->status == resident_status::active || !r->status_date
          || !departure_due(*r->status_date, resident_days, today))
        continue;
      b.del(column::residents, key);
      for (auto y : years)
        b.del(column::tax, keys::tax(y, impl_->generation(keys::generation_tax(y), nullptr), mac));
      b.del(column::holds, keys::hold(mac)); // a manual hold on the person goes with them
      if (!impl_->get(column::meta, keys::left(mac), nullptr))
        b.put(column::meta, keys::left(mac), left_value());
      ++deleted;
    }
    write(b, true);
  }
  // Physically: no file may keep the deleted records (compaction drops the deleted versions).
  // Also when nothing was deleted now: an earlier sweep may have stopped before this point, and
  // its entries are deleted only after it.
  for (auto gen : resident_gens)
    impl_->compact(column::residents, keys::resident_prefix(gen),
                   keys::prefix_end(keys::resident_prefix(gen)));
  for (auto y : years_seen)
    impl_->compact(column::tax, keys::tax_year_prefix(y),
                   keys::prefix_end(keys::tax_year_prefix(y)));
  impl_->compact(column::holds, "", "");
  impl_->release_logs();
  write_batch done(*this);
  for (auto& entry : entries)
    done.del(column::meta, entry);
  write(done, true);
  return deleted;
}

void database::set_hold(std::string_view code, std::string_view reason) {
  auto key = keys::hold(code_mac(code));
  impl_->put_sync(column::holds, key, seal(impl_->holds_key, key, reason));
}

bool database::lift_hold(std::string_view code) {
  auto key = keys::hold(code_mac(code));
  if (!impl_->get(column::holds, key, nullptr))
    return false;
  del(column::holds, key, true);
  // Physically, as every deletion. The hold is lifted already: a failure here leaves the
  // deleted version to RocksDB's own compactions.
  try {
    impl_->compact_keys(column::holds, {key});
    impl_->release_logs();
  } catch (const std::exception&) {
    // nop
  }
  return true;
}

bool database::has_hold(const snapshot& s, std::string_view code) const {
  return impl_
    ->get(column::holds, keys::hold(code_mac(code)), static_cast<const rocksdb::Snapshot*>(s.snap_))
    .has_value();
}

std::optional<std::string> database::get(column c, std::string_view key, const snapshot* s) const {
  return impl_->get(c, key, s ? static_cast<const rocksdb::Snapshot*>(s->snap_) : nullptr);
}

void database::write(write_batch& b, bool sync) {
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  check(impl_->db->Write(wo, &b.impl_->batch), "write");
}

void database::sync_wal() {
  check(impl_->db->SyncWAL(), "sync WAL");
}

namespace {

rocksdb::WriteOptions single_write_options(column c, bool sync) {
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  wo.disableWAL = c == column::sessions && !sync; // database.hpp says why
  return wo;
}

} // namespace

void database::put(column c, std::string_view key, std::string_view value, bool sync) {
  auto wo = single_write_options(c, sync);
  check(impl_->db->Put(wo, impl_->h(c), slice(key), slice(value)), "put");
}

void database::del(column c, std::string_view key, bool sync) {
  auto wo = single_write_options(c, sync);
  check(impl_->db->Delete(wo, impl_->h(c), slice(key)), "delete");
}

void database::scan(column c, std::string_view from, std::string_view to,
                    const std::function<bool(std::string_view, std::string_view)>& visit,
                    const snapshot* s) const {
  rocksdb::ReadOptions ro;
  ro.snapshot = s ? static_cast<const rocksdb::Snapshot*>(s->snap_) : nullptr;
  rocksdb::Slice upper = slice(to);
  if (!to.empty())
    ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->h(c)));
  for (it->Seek(slice(from)); it->Valid(); it->Next())
    if (!visit(view(it->key()), view(it->value())))
      break;
  check(it->status(), "scan " + std::string(column_name(c)));
}

void database::destroy_range(column c, std::string_view from, std::string_view to) {
  impl_->destroy_range(c, std::string(from), std::string(to));
}

std::map<std::string, uint64_t> database::sizes() const {
  std::map<std::string, uint64_t> out;
  for (size_t i = 0; i < column_count; ++i) {
    uint64_t live = 0;
    impl_->db->GetIntProperty(impl_->cf[i], "rocksdb.total-sst-files-size", &live);
    uint64_t mem = 0;
    impl_->db->GetIntProperty(impl_->cf[i], "rocksdb.cur-size-all-mem-tables", &mem);
    out[std::string(column_name(static_cast<column>(i)))] = live + mem;
  }
  return out;
}

key256 database::named_key(std::string_view name) const {
  return impl_->data_key(keys::named_key(name), true);
}

size_t database::rewrap_keys(const key256& new_master) {
  auto new_wrap = derive_key(new_master, wrap_key_label);
  rocksdb::WriteBatch b;
  size_t n = 0;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator({}, impl_->h(column::meta)));
  for (auto prefix : {std::string_view("dk/"), std::string_view("key/")}) {
    for (it->Seek(slice(prefix)); it->Valid() && it->key().starts_with(slice(prefix)); it->Next()) {
      auto name = it->key().ToString();
      auto plain = storage::open(impl_->wrap_key, name, view(it->value()));
      if (!plain)
        throw storage_error("storage: key " + name + " does not unwrap; nothing was changed");
      check(b.Put(impl_->h(column::meta), slice(name), slice(seal(new_wrap, name, plain->view()))),
            "rewrap");
      ++n;
    }
  }
  check(it->status(), "scan keys");
  rocksdb::WriteOptions wo;
  wo.sync = true;
  check(impl_->db->Write(wo, &b), "rewrap keys");
  impl_->wrap_key = new_wrap;
  return n;
}

const std::string& database::dir() const {
  return impl_->dir;
}

} // namespace kofu::storage
