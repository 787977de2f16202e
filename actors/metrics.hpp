#pragma once

// The node's metrics in Prometheus text exposition (admin-api.md): counters and histograms that
// any thread may bump, gauges read when scraped. Labels never hold personal data: only codes,
// kinds, actor and family names.

#include <array>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace kofu {

/// A histogram with fixed bucket bounds in seconds.
class histogram {
public:
  explicit histogram(std::vector<double> bounds_s);
  void observe(double seconds);
  /// Appends `name_bucket{le=...}`, `name_sum`, `name_count` lines.
  void render(const std::string& name, std::string& out) const;

private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_ns_{0};
};

class metrics_registry {
public:
  metrics_registry();

  /// Adds to `name{labels}` (labels in Prometheus form: `code="ok"`), created at first use.
  void add(const std::string& name, const std::string& labels, uint64_t delta = 1);
  /// Sets a gauge to a value (last write wins).
  void set(const std::string& name, const std::string& labels, double value);
  /// A gauge computed at scrape time; may add several labelled samples through `emit`.
  using gauge_fn = std::function<void(const std::function<void(const std::string& labels,
                                                               double value)>& emit)>;
  void gauge(const std::string& name, std::string help, gauge_fn fn);

  histogram issuance_duration;
  histogram render_duration;
  /// The audit logger's synced write of one group (entries, ledger rows, request records): the
  /// disk's share of every issuance, which waits for it before its PDF leaves.
  histogram audit_commit_duration;
  /// Its WAL sync alone (the rest is RocksDB's write of the group): whether a slow commit waited
  /// for the disk or for the database.
  histogram audit_sync_duration;

  /// The whole exposition text.
  std::string render() const;

private:
  struct sample {
    std::atomic<uint64_t> value{0};
  };
  mutable std::mutex mutex_;
  std::map<std::string, std::map<std::string, std::unique_ptr<sample>>> counters_;
  std::map<std::string, std::map<std::string, double>> values_;
  std::vector<std::tuple<std::string, std::string, gauge_fn>> gauges_;
};

} // namespace kofu
