#pragma once

#include <atomic>

// Every typed actor interface of kofu in one place (the VAST `actors.hpp` shape): a newcomer reads
// this file and knows who talks to whom. docs/ARCHITECTURE.md draws the supervision tree.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/typed_actor.hpp>
#include <caf/replies_to.hpp>

#include "messages/atoms.hpp"
#include "messages/error.hpp"
#include "messages/issuance.hpp"
#include "net/http_server.hpp"
#include "storage/audit_chain.hpp"

namespace kofu {

/// The connection an answer goes back to. Shared so that a CAF message can carry it; answered once.
using responder_ptr = std::shared_ptr<net::responder>;

/// One of issuance.sessions_max held by an admitted request (node_context.hpp).
class session_slot;
using session_slot_ptr = std::shared_ptr<session_slot>;

/// Entries for the audit chain plus writes that must land in the same durable write (the ledger
/// row and request record of an issuance, an outcome).
struct audit_batch {
  std::vector<storage::audit_entry> entries;
  std::function<void(storage::write_batch&)> extra;
};

/// One live session as GET /admin/v1/sessions shows it: no personal data.
/// Where a session is, for /admin/v1/sessions: a static name (waiting, checking, rendering,
/// committing, sending, finishing) the session sets and the manager reads.
using session_phase_ptr = std::shared_ptr<std::atomic<const char*>>;

struct session_info {
  std::string state;
  int64_t started_ms = 0;
};

/// A feed to load: an inbox file or a streamed upload (chunks follow as chunk messages).
struct feed_job {
  uint64_t feed_id = 0;
  std::string path;     // inbox file; empty for an upload
  std::string actor;    // who delivered it (token name or "inbox"), for the audit log
};

/// One chunk of an upload; `resume` lets the connection read the next one (backpressure).
struct feed_chunk {
  uint64_t feed_id = 0;
  std::string data;
  bool last = false;
  bool aborted = false;
  std::function<void()> resume;
};

/// Renders certificates. A worker renders one at a time on its own thread; the pool has the same
/// interface and spreads jobs over its workers with a bounded queue.
using render_actor = caf::typed_actor<
  /// Renders one resident's certificate; errors: unrenderable, overloaded, internal_error.
  caf::replies_to<render_atom, render_job>::with<rendered_pdf>,
  /// Renders the built-in fictitious sample.
  caf::replies_to<sample_atom>::with<rendered_pdf>,
  /// Fault injection (tests, drills): the pool passes it to its first worker, which dies of it.
  caf::reacts_to<crash_atom>>;

/// The single writer of the audit chain; one durable write per group of queued batches.
using audit_actor = caf::typed_actor<
  /// Appends and syncs; answers the seq of the last entry once it is durable.
  caf::replies_to<append_atom, audit_batch>::with<uint64_t>,
  /// Retention: cuts the chain's head before a time (RFC 3339, JST); answers how many entries
  /// went. The logger does it because it holds the chain's state: a cut made beside it would be
  /// overwritten by its next group (the head put back onto entries that are gone).
  caf::replies_to<cut_atom, std::string>::with<uint64_t>,
  /// Internal: writes what is queued (group commit).
  caf::reacts_to<flush_atom>>;

/// Takes the center's requests and runs one session per request.
using issuance_actor = caf::typed_actor<
  /// A validated issuance request and the connection to answer on.
  caf::reacts_to<issue_atom, issuance_request, responder_ptr, session_slot_ptr>,
  /// A validated outcome report.
  caf::reacts_to<outcome_atom, outcome_report, responder_ptr>,
  /// Live sessions (for /admin/v1/sessions and /metrics).
  caf::replies_to<status_atom>::with<std::vector<session_info>>>;

/// One issuance: owns everything of one request and nothing else; ends on its answer, an error,
/// the deadline or the loss of its connection, destroying its data.
using session_actor = caf::typed_actor<
  /// Start.
  caf::reacts_to<issue_atom>,
  /// Another delivery of the same request while this one runs: it gets the same answer.
  caf::replies_to<issue_atom, responder_ptr>::with<bool>,
  /// The deadline passed.
  caf::reacts_to<deadline_atom>,
  /// The connection went away before the answer.
  caf::reacts_to<closed_atom>>;

/// Loads feeds one at a time, atomically.
using feed_actor = caf::typed_actor<
  /// Queues a feed.
  caf::reacts_to<ingest_atom, feed_job>,
  /// A chunk of an uploaded feed.
  caf::reacts_to<chunk_atom, feed_chunk>,
  /// Internal: look into the inbox folder.
  caf::reacts_to<tick_atom>>;

/// Periodic deletion: residents past retention, audit entries past retention, dead sessions.
using timer_actor = caf::typed_actor<caf::reacts_to<tick_atom>>;

} // namespace kofu

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kofu::responder_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kofu::session_slot_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kofu::audit_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kofu::outcome_report)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kofu::session_info)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<kofu::session_info>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kofu::feed_job)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kofu::feed_chunk)
