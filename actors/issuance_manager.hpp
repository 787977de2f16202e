#pragma once

// The issuance manager: the front door of the center's requests. It answers what needs no session
// (service suspended, overloaded) at once, runs one session per request, and joins a repeated
// request_id that arrives while the first is in flight to that first session.

#include <deque>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/catalogue.hpp"
#include "actors/node_context.hpp"
#include "net/center_codec.hpp"

namespace kofu {

struct issuance_manager_state {
  node_context_ptr ctx;
  std::shared_ptr<const net::center_codec> codec;
  struct in_flight {
    session_actor session;
    std::string fingerprint;
    int64_t started_ms = 0;
    /// The first request's connection: not open once it was answered (refusals too).
    responder_ptr reply;
    /// What the session is doing (/admin/v1/sessions).
    session_phase_ptr phase;
  };
  std::unordered_map<std::string, in_flight> sessions; // by request_id
  std::map<caf::actor_addr, std::string> by_addr;
  /// Outcome reports per request_id being written, and those waiting behind them: reports of one
  /// request are handled one after the other, so two at once cannot both see "no outcome yet".
  std::unordered_map<std::string, std::deque<std::pair<outcome_report, responder_ptr>>> outcomes;
  /// The request_ids whose first report waits for the end of the request's session.
  std::unordered_set<std::string> outcomes_waiting;
  static inline const char* name = "issuance_manager";
};

issuance_actor::behavior_type
issuance_manager(issuance_actor::stateful_pointer<issuance_manager_state> self,
                 node_context_ptr ctx, std::shared_ptr<const net::center_codec> codec);

} // namespace kofu
