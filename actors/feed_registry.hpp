#pragma once

// The state of every feed (admin-api.md, GET /admin/v1/feeds[/{id}]): live progress in memory,
// every state change written to the feeds family, so the history survives restarts. Thread-safe:
// the ingestion actor writes, admin requests read.

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "storage/database.hpp"

namespace kofu {

struct feed_status_error {
  uint64_t line = 0;
  std::string field;
  std::string message;
};

struct feed_status {
  uint64_t id = 0;
  std::string state = "queued"; // queued | parsing | applying | applied | rejected
  std::string source;           // upload | inbox
  std::string actor;            // token name or "inbox"
  std::string kind;             // residents | tax, once the header is read
  std::string mode;             // full | delta
  int32_t fiscal_year = 0;      // tax only
  uint64_t sequence = 0;
  uint64_t records_total = 0;
  uint64_t records_done = 0;
  uint64_t records_skipped = 0; // tax records of residents who had left, not stored
  uint64_t errors_total = 0;
  std::vector<feed_status_error> errors; // the first 100
  std::string received_at;
  std::string started_at;
  std::string finished_at;
};

std::string to_json(const feed_status& s);

class feed_registry {
public:
  explicit feed_registry(storage::database& db);

  /// A new feed in state queued; its id is never reused.
  uint64_t create(const std::string& source, const std::string& actor);

  /// Changes a feed's status; `persist` writes it to the feeds family (state changes).
  template <class F>
  void update(uint64_t id, F&& change, bool persist) {
    feed_status copy;
    {
      std::lock_guard guard(mutex_);
      auto& s = live_[id];
      change(s);
      copy = s;
      if (copy.state == "applied" || copy.state == "rejected")
        live_.erase(id);
    }
    if (persist)
      store(copy);
  }

  std::optional<feed_status> get(uint64_t id) const;
  /// Newest first, at most `limit`.
  std::vector<feed_status> history(size_t limit) const;
  /// The last applied feed of a kind ("residents" or "tax"), if any.
  std::optional<feed_status> last_applied(const std::string& kind) const;
  /// The last feed of a kind whatever its state (one whose header was never read has none).
  std::optional<feed_status> last_of(const std::string& kind) const;

  /// Feeds that were queued or in progress when the node stopped: marked rejected (interrupted)
  /// so that the operator knows to deliver them again. Returns their ids. One whose commit had
  /// landed (its sequence is the last applied of its kind and year: it stopped in the clean-up
  /// after) is marked applied instead.
  std::vector<uint64_t> close_interrupted();

private:
  void store(const feed_status& s);
  static std::optional<feed_status> parse(std::string_view text);

  storage::database& db_;
  mutable std::mutex mutex_;
  std::map<uint64_t, feed_status> live_;
};

} // namespace kofu
