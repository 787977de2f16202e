#pragma once

// The audit logger: the one writer of the audit chain. It gathers what is queued in its mailbox
// into one durable write (group commit): a burst of issuances costs one fsync, not one each. Two
// group commits start at least issuance.commit_interval_us apart: under load a group then gathers
// what arrives meanwhile instead of costing one fsync per issuance; an append to an idle logger is
// written at once.

#include <chrono>
#include <deque>
#include <memory>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/catalogue.hpp"
#include "actors/node_context.hpp"

namespace kofu {

struct audit_logger_state {
  node_context_ptr ctx;
  storage::audit_state chain;
  std::unique_ptr<storage::hmac_key> key; // the audit key, HMAC set up once for this thread
  bool flush_pending = false;
  /// When the last group commit started; whether the pending flush has waited out the interval.
  std::chrono::steady_clock::time_point last_commit{};
  bool waited = false;
  struct pending {
    audit_batch batch;
    caf::typed_response_promise<uint64_t> promise;
  };
  std::deque<pending> queue;
  static inline const char* name = "audit_logger";
};

audit_actor::behavior_type audit_logger(audit_actor::stateful_pointer<audit_logger_state> self,
                                        node_context_ptr ctx);

/// An entry stamped with the current time.
storage::audit_entry audit_event(std::string actor, std::string event, std::string outcome);

/// Appends without waiting for durability (refusals, operator actions answered before the sync).
void audit_later(caf::actor_system& sys, audit_batch batch);

/// The audit actor registered now (after a restart: the new one); invalid while none runs.
audit_actor current_audit(caf::actor_system& sys);

/// Chains `entries` into `batch` and writes it, synced: for the node's start, before the logger
/// (the chain's only writer from then on) runs.
void audit_before_start(node_context& ctx, std::vector<storage::audit_entry> entries,
                        storage::write_batch& batch);

} // namespace kofu
