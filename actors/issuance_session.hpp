#pragma once

// One issuance session per center request (center-api.md, data-lifecycle.md). The session owns the
// request, the resident's data, the certificate number and the PDF, and nothing of any other
// request. It ends on its answer, an error, the deadline or the loss of its connection; then its
// data is wiped from memory and its sealed record deleted from storage, and a late result from a
// worker reaches no one.

#include <vector>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/catalogue.hpp"
#include "actors/deadline_clock.hpp"
#include "actors/node_context.hpp"
#include "net/center_codec.hpp"
#include "storage/ledger.hpp"

namespace kofu {

struct session_state {
  node_context_ptr ctx;
  /// One of issuance.sessions_max, held until the session ends (the state goes).
  session_slot_ptr slot;
  std::shared_ptr<const net::center_codec> codec;
  issuance_request request;
  /// Every connection waiting for this request's answer; the first is the original.
  std::vector<responder_ptr> waiters;
  bool conflict_in_flight = false;

  int64_t started_ms = 0;
  /// The deadline armed at the start; cancelled when the session ends.
  deadline_clock::ticket_ptr deadline;
  std::string phase = "checking"; // (waiting...) checking | rendering | committing | sending
  /// The same for the manager's status (a short name); shared with it.
  session_phase_ptr shown_phase;
  bool answered = false;
  bool committed = false;
  /// The durable commit is under way: the session may not end before its answer (it may have to
  /// undo the ledger row of a certificate that never left).
  bool awaiting_commit = false;
  bool finish_requested = false;
  bool finished = false;

  /// The session's record in the sessions family, sealed under a key that lives only here.
  uint64_t session_id = 0;
  storage::key256 session_key;

  // The resolved issuance.
  bool redelivery = false;
  storage::request_record record;
  resident_record resident;
  tax_record tax;

  ~session_state();

  static inline const char* name = "issuance_session";
};

/// The session of one request. `predecessor`, when valid, is an earlier session of the same
/// request_id that has answered but not ended (it may be undoing a commit): this one starts once
/// that one has ended.
session_actor::behavior_type issuance_session(session_actor::stateful_pointer<session_state> self,
                                              node_context_ptr ctx,
                                              std::shared_ptr<const net::center_codec> codec,
                                              issuance_request request, responder_ptr reply,
                                              session_slot_ptr slot, bool conflict_in_flight,
                                              session_actor predecessor,
                                              session_phase_ptr shown_phase);

/// Deletes what sessions of a previous run left in the sessions family (their keys died with
/// them, so the records cannot be read), auditing each. Returns how many were swept.
uint64_t sweep_dead_sessions(node_context& ctx);

} // namespace kofu
