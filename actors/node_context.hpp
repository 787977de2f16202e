#pragma once

// What every actor of one node shares: the config, the database (thread-safe), the derived keys,
// the certificate number sequence, the metrics, the feed registry and the service state. Actors get
// a shared_ptr to it at spawn; it outlives them all.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "actors/feed_registry.hpp"
#include "actors/metrics.hpp"
#include "config/config.hpp"
#include "messages/error.hpp"
#include "storage/crypto.hpp"
#include "storage/database.hpp"
#include "storage/audit_chain.hpp"
#include "storage/ledger.hpp"

namespace caf {
class actor_system;
} // namespace caf

namespace kofu::certificate {
class font_set;
} // namespace kofu::certificate

namespace kofu {

class render_lanes;
class deadline_clock;

/// Operator suspension (POST /admin/v1/service/suspend), kept in the meta family so that it
/// survives a restart.
class service_control {
public:
  explicit service_control(storage::database& db);
  void suspend(const std::string& reason);
  void resume();
  bool suspended() const { return suspended_.load(); }
  std::string reason() const;

private:
  storage::database& db_;
  std::atomic<bool> suspended_{false};
  mutable std::mutex mutex_;
  std::string reason_;
};

struct node_context {
  node_context(config::node_config config, std::unique_ptr<storage::database> database);
  ~node_context();

  config::node_config cfg;
  std::unique_ptr<storage::database> db;
  storage::key256 audit_key;
  /// Keyed hash of a request's content (redelivery), its HMAC states set up once.
  storage::hmac_key content_key;
  storage::certificate_sequence certificate_numbers;
  metrics_registry metrics;
  feed_registry feeds;
  service_control service;
  std::shared_ptr<const certificate::font_set> fonts;
  int64_t started_ms = 0;
  /// The wall clock; tests of service hours and retention move it.
  std::function<int64_t()> clock;
  caf::actor_system* system = nullptr;
  /// Admitted requests: taken session_slots (those on their way to a session and the sessions).
  std::atomic<uint32_t> live_sessions{0};
  std::atomic<uint32_t> render_queue_depth{0};
  /// The render pool's workers, as sessions reach them (actors/render_pool.hpp).
  std::unique_ptr<render_lanes> render;
  /// The sessions' deadlines (actors/deadline_clock.hpp): a deadline_atom to a session when due.
  std::unique_ptr<deadline_clock> deadlines;

  /// Whether the center is served at `epoch_ms` (hours and closed dates in JST).
  bool in_service_hours(int64_t epoch_ms) const;

  /// Seconds from `epoch_ms` until service opens again (for Retry-After); 0 when open now, and
  /// at least 1 otherwise.
  int64_t seconds_until_open(int64_t epoch_ms) const;

  /// Whether the center is served now: service_suspended (operator, hours, closed dates; with the
  /// seconds until opening when known). The bound on sessions is session_slot's. Atomics and the
  /// clock only: safe on an I/O thread.
  struct refusal {
    ec code = ec::none;
    int retry_after_s = 0;
  };
  refusal service_refusal() const;

  /// Whether `year` lies in the issuance window (admin-api.md): the year `open` opened by the
  /// last rollover and the retention − 1 years before it. Whether its data is loaded is the
  /// caller's to check.
  bool in_issuance_window(std::optional<int32_t> open, int32_t year) const;

  /// The keyed hash of a resident code, hex, for the audit log.
  std::string subject_of(std::string_view resident_code) const;
};

using node_context_ptr = std::shared_ptr<node_context>;

/// One of `issuance.sessions_max`, taken on the I/O thread when a request is admitted and given
/// back when the last copy goes: when its session ends, or when the request is refused or joins
/// another session, or is dropped on its way. Admission counts the requests on their way to a
/// session too, so the I/O thread answers `503 overloaded` at once for every request beyond the
/// bound (before, those in the manager's mailbox were admitted and refused there, 5-10 ms later
/// under a burst; docs/BENCH.md run 8).
class session_slot {
public:
  /// A slot, or null when all issuance.sessions_max are taken.
  static std::shared_ptr<session_slot> take(node_context_ptr ctx);
  ~session_slot();
  session_slot(const session_slot&) = delete;
  session_slot& operator=(const session_slot&) = delete;

private:
  explicit session_slot(node_context_ptr ctx) noexcept : ctx_(std::move(ctx)) {}
  node_context_ptr ctx_;
};

using session_slot_ptr = std::shared_ptr<session_slot>;

} // namespace kofu
