#include "storage/database.hpp"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/utilities/options_util.h>
#include <rocksdb/write_batch.h>

#include <array>
#include <mutex>
#include <shared_mutex>

#include "storage/record_codec.hpp"

namespace kofu::storage {

namespace {

/// Staged records are written in batches of this many, without the WAL (the stage is flushed
/// before its commit, and a crash before the commit throws the stage away anyway).
constexpr size_t stage_batch_records = 2'000;
/// The label of the key-wrapping key derived from the master key.
constexpr std::string_view wrap_key_label = "kofu/key-wrap/v1";
/// Departures (residents who left) one feed may record for later deletion.
constexpr size_t departures_max = 200'000;
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

} // namespace

struct database::impl {
  std::string dir;
  key256 code_key;  // resident codes -> HMAC
  key256 wrap_key;  // wraps data keys
  key256 holds_key; // seals manual hold reasons
  std::unique_ptr<rocksdb::DB> db;
  std::array<rocksdb::ColumnFamilyHandle*, column_count> cf{};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;

  mutable std::shared_mutex keys_mutex;
  mutable std::map<std::string, key256> key_cache; // meta key name -> data key

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
      throw storage_error("storage: data key " + name + " is gone");
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
      retire(name);
    // Stage markers whose key is already gone: drop their ranges too.
    std::vector<std::string> markers;
    it.reset(db->NewIterator({}, h(column::meta)));
    for (it->Seek("stage/"); it->Valid() && it->key().starts_with("stage/"); it->Next())
      markers.push_back(it->key().ToString().substr(6));
    it.reset();
    for (auto& name : markers)
      retire(name);
    sweep_orphan_ranges();
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
  void retire(const std::string& data_key_name) {
    destroy_data_key(data_key_name);
    auto [c, prefix] = range_of(data_key_name);
    destroy_range(c, prefix, keys::prefix_end(prefix));
    rocksdb::WriteOptions wo;
    wo.sync = true;
    check(db->Delete(wo, h(column::meta), slice(stage_marker(data_key_name))), "drop marker");
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

/// What both stage kinds share: which set, its keys, and how records are keyed and sealed.
struct stage_target {
  dataset set;
  std::optional<int32_t> fiscal_year;
  uint32_t generation = 0;
  std::string data_key_name;
  std::string generation_key;
  std::string sequence_key;
  uint64_t sequence = 0;

  std::string record_key(const digest256& mac) const {
    return set == dataset::residents ? keys::resident(generation, mac)
                                     : keys::tax(*fiscal_year, generation, mac);
  }
  column family() const { return set == dataset::residents ? column::residents : column::tax; }
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
    auto mac = owner_.code_mac(r.resident_code);
    if (r.status != resident_status::active && r.status_date) {
      // A resident who left is deleted after retention.resident_days: the deletion timer finds
      // them through this index, written with the feed's commit.
      if (departures_.size() >= departures_max)
        throw storage_error("storage: a feed may record at most " + std::to_string(departures_max)
                            + " departures");
      departures_.push_back(keys::departure(yyyymmdd_of(*r.status_date), mac));
    }
    stage_value(mac, encode(r));
  }

  void put(const tax_record& r) override {
    if (target_.set != dataset::tax || r.fiscal_year != *target_.fiscal_year)
      throw storage_error("storage: a tax record staged into the wrong data set");
    stage_value(owner_.code_mac(r.resident_code), encode(r));
  }

  uint64_t records_staged() const override { return staged_; }

protected:
  virtual void stage_put(std::string key, std::string value) = 0;

  void stage_value(const digest256& mac, std::string plain) {
    auto key = target_.record_key(mac);
    auto sealed = seal(key_, key, plain);
    wipe(plain);
    stage_put(std::move(key), std::move(sealed));
    ++staged_;
  }

  /// Adds the departure index entries to the commit batch.
  void add_departures(rocksdb::WriteBatch& b) {
    for (auto& k : departures_)
      check(b.Put(db_.h(column::meta), slice(k), slice("")), "commit departures");
  }

  static uint32_t yyyymmdd_of(const civil_date& d) {
    return static_cast<uint32_t>(d.year) * 10000 + d.month * 100u + d.day;
  }

  database::impl& db_;
  const database& owner_;
  stage_target target_;
  key256 key_;
  uint64_t staged_ = 0;
  std::vector<std::string> departures_;
};

/// A full feed: a new generation, written as it streams, switched to at commit.
class full_stage final : public stage_base {
public:
  full_stage(database::impl& db, stage_target t, const database& owner)
    : stage_base(db, std::move(t), owner) {
    db_.put_sync(column::meta, database::impl::stage_marker(target_.data_key_name), "");
  }

  ~full_stage() override {
    if (!done_) {
      try {
        abort();
      } catch (...) {
        // The stage marker stays; the next start sweeps the generation.
      }
    }
  }

  void remove(std::string_view) override {
    throw storage_error("storage: a full feed has no deletions");
  }

  void commit() override {
    flush_batch();
    check(db_.db->Flush(rocksdb::FlushOptions{}, db_.h(target_.family())), "flush stage");
    auto old_generation = db_.generation(target_.generation_key, nullptr);
    rocksdb::WriteBatch b;
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
    done_ = true;
    if (old_generation != 0)
      db_.retire(target_.set == dataset::residents
                   ? keys::data_key_residents(old_generation)
                   : keys::data_key_tax(*target_.fiscal_year, old_generation));
  }

  void abort() override {
    done_ = true;
    batch_.Clear();
    db_.retire(target_.data_key_name);
  }

private:
  void stage_put(std::string key, std::string value) override {
    check(batch_.Put(db_.h(target_.family()), slice(key), slice(value)), "stage");
    if (static_cast<size_t>(batch_.Count()) >= stage_batch_records)
      flush_batch();
  }

  void flush_batch() {
    if (batch_.Count() == 0)
      return;
    rocksdb::WriteOptions wo;
    wo.disableWAL = true;
    check(db_.db->Write(wo, &batch_), "write stage");
    batch_.Clear();
  }

  rocksdb::WriteBatch batch_;
  bool done_ = false;
};

/// A delta feed: every change in one batch, written with the sequence in one synced write.
class delta_stage final : public stage_base {
public:
  using stage_base::stage_base;

  void remove(std::string_view code) override {
    check(batch_.Delete(db_.h(target_.family()), slice(target_.record_key(owner_.code_mac(code)))),
          "stage delete");
    ++staged_;
    check_bound();
  }

  void commit() override {
    std::string gen;
    keys::append_u32(gen, target_.generation);
    check(batch_.Put(db_.h(column::meta), slice(target_.generation_key), slice(gen)), "commit");
    check(batch_.Put(db_.h(column::meta), slice(target_.sequence_key),
                     slice(encode_u64(target_.sequence))),
          "commit");
    add_departures(batch_);
    rocksdb::WriteOptions wo;
    wo.sync = true;
    check(db_.db->Write(wo, &batch_), "commit delta");
    batch_.Clear();
  }

  void abort() override {
    batch_.Clear();
  }

private:
  void stage_put(std::string key, std::string value) override {
    check(batch_.Put(db_.h(target_.family()), slice(key), slice(value)), "stage");
    check_bound();
  }

  void check_bound() {
    if (staged_ >= delta_records_max)
      throw storage_error("storage: a delta feed may change at most "
                          + std::to_string(delta_records_max)
                          + " records; deliver a full feed instead");
  }

  rocksdb::WriteBatch batch_;
};

} // namespace

// -- database -----------------------------------------------------------------------------------

database::database(std::unique_ptr<impl> p) : impl_(std::move(p)) {
  // nop
}

database::~database() = default;

std::unique_ptr<database> database::open(const std::string& dir, const key256& master) {
  auto p = std::make_unique<impl>();
  p->dir = dir;
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
  p->holds_key = p->data_key(keys::named_key("holds"), true);
  p->sweep_generations();
  return std::unique_ptr<database>(new database(std::move(p)));
}

digest256 database::code_mac(std::string_view resident_code) const {
  return hmac_sha256(impl_->code_key, resident_code);
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
  t.data_key_name = d == dataset::residents ? keys::data_key_residents(t.generation)
                                            : keys::data_key_tax(*fiscal_year, t.generation);
  if (full)
    return std::make_unique<full_stage>(*impl_, std::move(t), *this);
  return std::make_unique<delta_stage>(*impl_, std::move(t), *this);
}

rollover_result database::rollover(int32_t fiscal_year, uint32_t keep_years) {
  rollover_result result;
  result.fiscal_year = fiscal_year;
  std::string year;
  keys::append_u32(year, static_cast<uint32_t>(fiscal_year));
  impl_->put_sync(column::meta, "open_year", year);
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
  for (auto y : loaded_tax_years())
    if (y <= fiscal_year)
      result.open_years.push_back(y);
  return result;
}

void database::remove_tax_records(const std::vector<std::string>& resident_codes) {
  write_batch b(*this);
  for (auto year : loaded_tax_years()) {
    auto gen = impl_->generation(keys::generation_tax(year), nullptr);
    for (auto& code : resident_codes)
      b.del(column::tax, keys::tax(year, gen, code_mac(code)));
  }
  write(b, true);
}

uint64_t database::sweep_departed(const civil_date& today, uint32_t resident_days) {
  auto cutoff = civil_from_days(days_from_civil(today) - resident_days);
  auto upto = keys::departure_prefix() + std::to_string(
                                           static_cast<uint32_t>(cutoff.year) * 10000
                                           + cutoff.month * 100u + cutoff.day + 1);
  std::vector<std::string> entries;
  scan(column::meta, keys::departure_prefix(), upto, [&](std::string_view key, std::string_view) {
    entries.emplace_back(key);
    return entries.size() < departures_max;
  });
  if (entries.empty())
    return 0;
  auto gen = impl_->generation(keys::generation_residents(), nullptr);
  auto years = loaded_tax_years();
  write_batch b(*this);
  uint64_t deleted = 0;
  for (auto& entry : entries) {
    b.del(column::meta, entry);
    auto mac_bytes = from_hex(std::string_view(entry).substr(entry.rfind('/') + 1));
    if (!mac_bytes || mac_bytes->size() != 32 || gen == 0)
      continue;
    digest256 mac{};
    std::copy(mac_bytes->begin(), mac_bytes->end(), mac.begin());
    auto key = keys::resident(gen, mac);
    auto sealed = impl_->get(column::residents, key, nullptr);
    if (!sealed)
      continue;
    auto plain = storage::open(impl_->data_key(keys::data_key_residents(gen), false), key, *sealed);
    auto r = plain ? decode_resident(plain->view()) : std::nullopt;
    // Only a resident who is still gone, and long enough, is deleted (a later feed may have
    // brought them back).
    if (!r || r->status == resident_status::active || !r->status_date
        || days_from_civil(*r->status_date) + resident_days > days_from_civil(today))
      continue;
    b.del(column::residents, key);
    for (auto y : years)
      b.del(column::tax, keys::tax(y, impl_->generation(keys::generation_tax(y), nullptr), mac));
    ++deleted;
  }
  write(b, true);
  if (deleted > 0) {
    // Physically: no file may keep the deleted records (compaction drops the deleted versions).
    impl_->compact(column::residents, keys::resident_prefix(gen),
                   keys::prefix_end(keys::resident_prefix(gen)));
    for (auto y : years)
      impl_->compact(column::tax, keys::tax_year_prefix(y),
                     keys::prefix_end(keys::tax_year_prefix(y)));
  }
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

void database::put(column c, std::string_view key, std::string_view value, bool sync) {
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  check(impl_->db->Put(wo, impl_->h(c), slice(key), slice(value)), "put");
}

void database::del(column c, std::string_view key, bool sync) {
  rocksdb::WriteOptions wo;
  wo.sync = sync;
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
