#pragma once

// The audit log's hash chain (data-lifecycle.md): every entry carries the HMAC-SHA-256 of the
// previous entry's MAC and its own content. Appending is the audit actor's job (one writer); this
// file holds the entry format, the MAC, verification and head cutting, free of any actor.

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/crypto.hpp"
#include "storage/database.hpp"

namespace kofu::storage {

/// One audit entry. Fields that do not apply stay empty and are left out of the JSON.
struct audit_entry {
  uint64_t seq = 0;
  std::string time;               // RFC 3339, JST
  std::string actor;              // "center", a token's name, "system", "feed"
  std::string event;              // "issuance", "redelivery", "refusal", "rollover", ...
  std::string outcome;            // "ok", "refused", "failed", or a precise reason (audit only)
  std::string request_id;
  std::string certificate_number;
  std::string pdf_sha256;         // hex
  std::string subject;            // keyed hash (HMAC) of a resident code, hex; never the code
  std::string detail;             // free text without personal data
  std::string mac;                // hex
};

/// The chain's head and tail, kept in the meta family.
struct audit_state {
  uint64_t first_seq = 1;          // oldest entry kept
  std::string prev_mac;            // MAC of the entry before first_seq (zeros at the start)
  uint64_t last_seq = 0;           // newest entry (0: none)
  std::string last_mac;            // its MAC
};

/// The entry as JSON text, without its MAC: what the MAC covers. Compact, keys sorted, fields that
/// do not apply left out, strings escaped as nlohmann::json::dump() does: the same bytes dump()
/// gives for the same object (tests/storage/json_text_test.cpp), written without building a tree.
std::string canonical_json(const audit_entry& e);
/// The entry as stored and as served: canonical fields plus "mac" (in its sorted place).
std::string to_json(const audit_entry& e);
std::optional<audit_entry> audit_entry_from_json(std::string_view text);

/// MAC of an entry following `prev_mac`: HMAC-SHA-256(prev_mac || canonical_json(e)), hex.
std::string chain_mac(const hmac_key& key, const std::string& prev_mac, const audit_entry& e);
std::string chain_mac(const key256& audit_key, const std::string& prev_mac, const audit_entry& e);

audit_state load_audit_state(const database& db, const snapshot* snap = nullptr);

/// Adds `entries` (seq and mac filled in here) to `batch`, with the new tail.
void chain_entries(const hmac_key& key, audit_state& state, std::vector<audit_entry>& entries,
                   write_batch& batch);
/// The same with a key set up for this call only (tests, rare writers).
void chain_entries(const key256& audit_key, audit_state& state, std::vector<audit_entry>& entries,
                   write_batch& batch);

struct verify_result {
  bool ok = true;
  uint64_t entries = 0;
  uint64_t failed_seq = 0;
  std::string reason;
};

/// Walks the whole chain from its head: finds a changed, deleted, inserted or reordered entry.
verify_result verify_chain(const database& db, const key256& audit_key);

/// Entries with from_ms <= time < to_ms (by seq order), optionally of one request, at most `limit`.
std::vector<audit_entry> query_audit(const database& db, const std::string& from_time,
                                     const std::string& to_time, const std::string& request_id,
                                     size_t limit);

/// Removes entries older than `cutoff_time` (RFC 3339 JST text compares in time order) from the
/// head, recording the new head, from and into `state`: the chain's state as its only writer holds
/// it (the audit logger), since every group it writes stores that state whole. Returns how many
/// were removed.
uint64_t cut_audit_head(database& db, audit_state& state, const std::string& cutoff_time);

/// The name of the audit chain's key (database::named_key).
inline constexpr std::string_view audit_key_name = "audit-chain";

} // namespace kofu::storage
