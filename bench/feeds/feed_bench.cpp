// feed_bench: a full tax feed of N records (default 1,000,000) through kofu's real feed path, and
// the RocksDB floor for the same data in the same run. docs/BENCH.md describes the figures.
//
//   feed_bench [--records N] [--skip-cp932] [--skip-floor] [--tmp DIR] [--input FEED]
//
// The path measured is the one every feed takes inside kofud (docs/ARCHITECTURE.md, "Feeds"): a
// kofu::feed_load on a node_context over a fresh temporary database, fed the file in 1 MiB chunks
// exactly as the feed ingestor reads an inbox file (actors/feed_ingestor.cpp): streaming parse and
// validation (encoding, CSV, column rules, sums, trailer count and SHA-256), sealing (AES-256-GCM
// under the generation's key, HMAC of the code), staging into RocksDB and the synced commit. Not
// included: the HTTP upload (the admin listener streams 64 KiB chunks into the same feed_load) and
// the actor hop.
//
// The feed files are generated first (tools/feedgen, the same bytes as kofu-feedgen), outside the
// timed window. Peak RSS is VmHWM of this process, reset (clear_refs) right before each timed
// phase: it includes the RocksDB memtables and caches of the database being loaded, the parser's
// code set (8 bytes a record), the 1 MiB read buffer and the program itself (~ its libraries).
//
// The floor: RocksDB alone bulk-loading the same number of values of the same sizes (the sizes of
// the sealed tax records, measured on the first records of the feed) under keys of the same size
// (fiscal year, generation, 32-byte HMAC), already encrypted, in key order, through SstFileWriter
// and IngestExternalFile. Values are random bytes (ciphertext does not compress either).

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/sst_file_writer.h>

#include "actors/feed_load.hpp"
#include "actors/node_context.hpp"
#include "bench/storage/bench_util.hpp"
#include "feed/feed_header.hpp"
#include "storage/crypto.hpp"
#include "storage/database.hpp"
#include "storage/keys.hpp"
#include "storage/record_codec.hpp"
#include "tools/feedgen/feed_files.hpp"
#include "tools/feedgen/generator.hpp"

using namespace kofu;
using kofu::bench::figure;
using kofu::bench::fmt;

namespace {

constexpr uint64_t records_max = 5'000'000;
constexpr size_t chunk_bytes = 1 << 20; // as the feed ingestor reads inbox files
constexpr int32_t fiscal_year = 2025;
constexpr size_t size_sample_records = 20'000;

struct options {
  uint64_t records = 1'000'000;
  bool cp932 = true;
  bool floor = true;
  std::string tmp;
  std::string input; // a tax feed of fiscal year 2025 to load instead of generating one
};

bool parse(int argc, char** argv, options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--skip-cp932") {
      o.cp932 = false;
    } else if (a == "--records" && i + 1 < argc) {
      o.records = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--tmp" && i + 1 < argc) {
      o.tmp = argv[++i];
    } else if (a == "--skip-floor") {
      o.floor = false;
    } else if (a == "--input" && i + 1 < argc) {
      o.input = argv[++i];
    } else {
      return false;
    }
  }
  return o.records > 0 && o.records <= records_max;
}

std::string generate(const std::string& dir, uint64_t records, bool cp932) {
  feedgen::feed_files_options fo;
  fo.population.fiscal_year = fiscal_year;
  fo.population.cp932_safe = cp932;
  fo.encoding = cp932 ? feed::feed_encoding::cp932 : feed::feed_encoding::utf8;
  fo.count = records;
  std::string path = dir + (cp932 ? "/tax-cp932.csv" : "/tax-utf8.csv");
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.rdbuf()->pubsetbuf(nullptr, 0);
  feedgen::write_feeds(fo, nullptr, &out);
  out.close();
  if (!out)
    throw std::runtime_error("cannot write " + path);
  return path;
}

struct load_result {
  bool applied = false;
  double seconds = 0;
  double cpu_seconds = 0; // this process, every thread (RocksDB's flush threads too)
  uint64_t peak_rss = 0;
  uint64_t records = 0;
  std::string state;
};

/// One feed file through feed_load on a fresh database; timed from opening the database to the
/// end of the commit.
load_result load_feed(const std::string& feed_file, const std::string& tmp) {
  bench::temp_dir dbdir("feed-bench-db", tmp);
  auto master = storage::key256::random();
  config::node_config cfg; // municipality 272051, retention defaults
  bench::reset_peak_rss();
  load_result r;
  auto cpu0 = bench::process_cpu_seconds();
  auto t0 = bench::clock_type::now();
  {
    auto ctx = std::make_shared<node_context>(cfg, storage::database::open(dbdir.path() + "/db",
                                                                           master));
    auto id = ctx->feeds.create("bench", "feed_bench");
    {
      feed_load load(*ctx, id);
      std::ifstream in(feed_file, std::ios::binary);
      std::string buf(chunk_bytes, '\0');
      while (in) {
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        auto n = static_cast<size_t>(in.gcount());
        if (n == 0)
          break;
        load.feed(std::string_view(buf.data(), n));
      }
      r.applied = load.finish();
    }
    r.seconds = bench::seconds_since(t0);
    r.cpu_seconds = bench::process_cpu_seconds() - cpu0;
    r.peak_rss = bench::peak_rss_bytes();
    if (auto s = ctx->feeds.get(id)) {
      r.state = s->state;
      r.records = s->records_done;
      if (!s->errors.empty())
        std::fprintf(stderr, "feed_bench: first error: line %llu %s %s\n",
                     static_cast<unsigned long long>(s->errors[0].line), s->errors[0].field.c_str(),
                     s->errors[0].message.c_str());
    }
    if (ctx->db->record_count(storage::dataset::tax, fiscal_year) != r.records)
      std::fprintf(stderr, "feed_bench: warning: %llu records in the database\n",
                   static_cast<unsigned long long>(
                     ctx->db->record_count(storage::dataset::tax, fiscal_year)));
  }
  return r;
}

/// Sizes of the sealed tax records of the first persons (the floor's value sizes).
std::vector<uint32_t> sealed_sizes(uint64_t count) {
  std::vector<uint32_t> sizes;
  auto key = storage::key256::random();
  feedgen::population_options po;
  po.fiscal_year = fiscal_year;
  std::string aad(40, 'k');
  feedgen::generate_population(po.seed, std::min<uint64_t>(count, size_sample_records), po,
                               [&](uint64_t, const feedgen::person& p) {
                                 sizes.push_back(static_cast<uint32_t>(
                                   storage::seal(key, aad, storage::encode(p.tax)).size()));
                               });
  return sizes;
}

struct floor_result {
  double seconds = 0;
  double cpu_seconds = 0;
  uint64_t bytes = 0;
  uint64_t peak_rss = 0;
};

/// RocksDB alone: N (key, value) pairs of the same sizes, sorted, through one SstFileWriter and
/// IngestExternalFile into a fresh database. Timed from opening the database to the ingestion.
floor_result rocksdb_floor(uint64_t n, const std::vector<uint32_t>& sizes, const std::string& tmp) {
  bench::temp_dir dir("feed-bench-floor", tmp);
  floor_result r;
  std::mt19937_64 rng(42);
  std::string value;
  bench::reset_peak_rss();
  auto cpu0 = bench::process_cpu_seconds();
  auto t0 = bench::clock_type::now();
  rocksdb::Options opt;
  opt.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(opt, dir.path() + "/db", &raw);
  if (!s.ok())
    throw std::runtime_error("floor: open: " + s.ToString());
  std::unique_ptr<rocksdb::DB> db(raw);
  std::string sst = dir.path() + "/bulk.sst";
  {
    rocksdb::SstFileWriter w(rocksdb::EnvOptions{}, opt);
    if (!(s = w.Open(sst)).ok())
      throw std::runtime_error("floor: sst open: " + s.ToString());
    std::string key;
    for (uint64_t i = 0; i < n; ++i) {
      // fiscal year u32, generation u32, 32 bytes standing for the HMAC: big-endian i, in order.
      key.clear();
      storage::keys::append_u32(key, static_cast<uint32_t>(fiscal_year));
      storage::keys::append_u32(key, 1);
      key.append(24, '\0');
      for (int b = 7; b >= 0; --b)
        key.push_back(static_cast<char>((i >> (8 * b)) & 0xFF));
      value.resize(sizes[i % sizes.size()]);
      for (size_t off = 0; off < value.size(); off += 8) {
        uint64_t x = rng();
        std::memcpy(value.data() + off, &x, std::min<size_t>(8, value.size() - off));
      }
      r.bytes += key.size() + value.size();
      if (!(s = w.Put(key, value)).ok())
        throw std::runtime_error("floor: put: " + s.ToString());
    }
    if (!(s = w.Finish()).ok())
      throw std::runtime_error("floor: finish: " + s.ToString());
  }
  rocksdb::IngestExternalFileOptions io;
  io.move_files = true;
  if (!(s = db->IngestExternalFile({sst}, io)).ok())
    throw std::runtime_error("floor: ingest: " + s.ToString());
  r.seconds = bench::seconds_since(t0);
  r.cpu_seconds = bench::process_cpu_seconds() - cpu0;
  r.peak_rss = bench::peak_rss_bytes();
  db->Close();
  return r;
}

double mib(uint64_t b) {
  return static_cast<double>(b) / (1024.0 * 1024.0);
}

} // namespace

int main(int argc, char** argv) {
  options o;
  if (!parse(argc, argv, o)) {
    std::fprintf(stderr,
                 "usage: feed_bench [--records N (<= %llu)] [--skip-cp932] [--skip-floor] "
                 "[--tmp DIR]\n"
                 "                  [--input FEED (a tax feed of fiscal year 2025, e.g. from "
                 "kofu-feedgen; loaded once, nothing generated: for profiling)]\n",
                 static_cast<unsigned long long>(records_max));
    return 2;
  }
  try {
    if (!o.input.empty()) {
      // Profiling: only the timed path, on a given file.
      std::printf("feed_bench: %s; load average %.2f\n", o.input.c_str(),
                  bench::load_average_1min());
      auto r = load_feed(o.input, o.tmp);
      figure("feed.input_state", r.state + " (" + std::to_string(r.records) + " records)");
      figure("feed.input_seconds", fmt(r.seconds, 2));
      figure("feed.input_cpu_seconds (all threads)", fmt(r.cpu_seconds, 2));
      figure("feed.input_peak_rss_mib", fmt(mib(r.peak_rss), 1));
      figure("load_average_1min_after", fmt(bench::load_average_1min(), 2));
      return r.applied ? 0 : 1;
    }
    bench::temp_dir files("feed-bench-files", o.tmp);
    std::printf("feed_bench: %llu tax records, fiscal year %d; load average %.2f; %s\n",
                static_cast<unsigned long long>(o.records), fiscal_year, bench::load_average_1min(),
                bench::reset_peak_rss() ? "peak RSS reset per phase" : "peak RSS NOT resettable");
    auto t0 = bench::clock_type::now();
    auto utf8 = generate(files.path(), o.records, false);
    figure("feed.generate_utf8_seconds (untimed setup)", fmt(bench::seconds_since(t0), 2));
    figure("feed.utf8_file_mib", fmt(mib(std::filesystem::file_size(utf8)), 1));

    auto sizes = sealed_sizes(o.records);
    double mean = 0;
    for (auto v : sizes)
      mean += v;
    mean /= static_cast<double>(sizes.size());
    figure("floor.value_bytes_mean (sealed tax record)", fmt(mean, 1));
    floor_result fl;
    if (o.floor)
      fl = rocksdb_floor(o.records, sizes, o.tmp);
    figure("floor.rocksdb_sst_ingest_seconds", fmt(fl.seconds, 2));
    figure("floor.rocksdb_sst_ingest_cpu_seconds", fmt(fl.cpu_seconds, 2));
    figure("floor.rocksdb_sst_ingest_mib", fmt(mib(fl.bytes), 1));
    figure("floor.peak_rss_mib", fmt(mib(fl.peak_rss), 1));

    auto u = load_feed(utf8, o.tmp);
    std::filesystem::remove(utf8);
    figure("feed.utf8_state", u.state + " (" + std::to_string(u.records) + " records)");
    figure("feed.utf8_seconds", fmt(u.seconds, 2));
    figure("feed.utf8_cpu_seconds (all threads)", fmt(u.cpu_seconds, 2));
    figure("feed.utf8_cpu_ratio_to_floor", fmt(u.cpu_seconds / fl.cpu_seconds, 2));
    figure("feed.utf8_records_per_s", fmt(static_cast<double>(u.records) / u.seconds, 0));
    figure("feed.utf8_peak_rss_mib", fmt(mib(u.peak_rss), 1));
    double ratio = o.floor ? u.seconds / fl.seconds : 0;
    figure("feed.utf8_ratio_to_floor", fmt(ratio, 2));

    bool ok = u.applied;
    bool scaled = o.records == 1'000'000;
    std::printf("target feed <= 8 s: %s (%s s)%s\n", u.applied && u.seconds <= 8 ? "MET" : "MISSED",
                fmt(u.seconds, 2).c_str(), scaled ? "" : " [not 1M records]");
    std::printf("target peak RSS < 512 MiB: %s (%s MiB)\n",
                u.peak_rss < 512ull * 1024 * 1024 ? "MET" : "MISSED", fmt(mib(u.peak_rss), 1).c_str());
    std::printf("target ratio to the RocksDB floor <= 3x: %s (%sx)\n", ratio <= 3 ? "MET" : "MISSED",
                fmt(ratio, 2).c_str());

    if (o.cp932) {
      t0 = bench::clock_type::now();
      auto cp = generate(files.path(), o.records, true);
      figure("feed.generate_cp932_seconds (untimed setup)", fmt(bench::seconds_since(t0), 2));
      figure("feed.cp932_file_mib", fmt(mib(std::filesystem::file_size(cp)), 1));
      auto c = load_feed(cp, o.tmp);
      std::filesystem::remove(cp);
      figure("feed.cp932_state", c.state + " (" + std::to_string(c.records) + " records)");
      figure("feed.cp932_seconds", fmt(c.seconds, 2));
      figure("feed.cp932_cpu_seconds (all threads)", fmt(c.cpu_seconds, 2));
      figure("feed.cp932_records_per_s", fmt(static_cast<double>(c.records) / c.seconds, 0));
      figure("feed.cp932_peak_rss_mib", fmt(mib(c.peak_rss), 1));
      figure("feed.cp932_ratio_to_floor", fmt(c.seconds / fl.seconds, 2));
      ok = ok && c.applied;
    }
    figure("load_average_1min_after", fmt(bench::load_average_1min(), 2));
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "feed_bench: %s\n", e.what());
    return 1;
  }
}
