#pragma once

// The issuance ledger (admin-api.md, GET /admin/v1/ledger): one row per certificate issued, for the
// city's fee reconciliation with the center, and the request index that remembers, per request_id,
// what was answered (for redelivery and outcomes). Neither holds personal data.

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "messages/records.hpp"
#include "storage/database.hpp"

namespace kofu::storage {

struct ledger_row {
  std::string request_id;
  std::string certificate_number;
  std::string certificate_type;
  int32_t fiscal_year = 0;
  std::string issued_at; // RFC 3339, JST
  std::string store_code;
  std::string terminal_id;
  std::string outcome = "none"; // printed, print_failed, cancelled, none
};

/// What the node remembers of a request answered with a certificate.
struct request_record {
  std::string content_mac;        // keyed hash of the request's content, hex
  std::string certificate_number;
  int32_t fiscal_year = 0;
  civil_date issue_date;
  int64_t answered_ms = 0;
  std::string outcome = "none";
  uint32_t ledger_day = 0;        // yyyymmdd of the ledger row
};

/// Adds the ledger row and the request record of one issuance to `batch`.
void add_issuance(write_batch& batch, const ledger_row& row, const request_record& req);

/// Sets the outcome on both the request record and the ledger row.
void add_outcome(write_batch& batch, const database& db, const std::string& request_id,
                 const request_record& req, const std::string& outcome);

/// Forgets a request (an issuance aborted after its commit: the center got no certificate): its
/// ledger row, and its request record unless that names another certificate by now.
void add_forget(write_batch& batch, const database& db, const std::string& request_id,
                const request_record& req);

std::optional<request_record> find_request(const database& db, const std::string& request_id);

std::vector<ledger_row> ledger_day(const database& db, const civil_date& day);

/// `{"date", "rows": [...], "totals": {...}}` as admin-api.md shows it.
std::string ledger_json(const civil_date& day, const std::vector<ledger_row>& rows);
std::string ledger_csv(const std::vector<ledger_row>& rows);

/// Certificate numbers `YYYYMMDD-NNNNNN`: a daily sequence, never reused, also across a crash.
/// Numbers are reserved durably in blocks; a crash skips the rest of a block, never repeats one.
class certificate_sequence {
public:
  explicit certificate_sequence(database& db) : db_(db) {
    // nop
  }
  /// The next number of `day`; throws storage_error past 999,999 in a day.
  std::string next(const civil_date& day);
  /// At a clean stop, once no session can take a number any more: the day's reservation goes back
  /// to the last number handed out, so the sequence continues after a restart without a gap. After
  /// a crash the rest of the block stays skipped (numbers are never reused either way).
  void release_unused();

private:
  static constexpr uint32_t reserve_block = 256;
  static constexpr uint32_t per_day_max = 999'999;
  database& db_;
  std::mutex mutex_;
  uint32_t day_ = 0;
  uint32_t next_ = 0;
  uint32_t reserved_ = 0;
};

} // namespace kofu::storage
