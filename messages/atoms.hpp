#pragma once

// Every atom of kofu's actor protocols, in one place (CAF 0.17: atom names have at most 10 chars).

#include <caf/atom.hpp>

namespace kofu {

using issue_atom = caf::atom_constant<caf::atom("issue")>;
using render_atom = caf::atom_constant<caf::atom("render")>;
using sample_atom = caf::atom_constant<caf::atom("sample")>;
using commit_atom = caf::atom_constant<caf::atom("commit")>;
using append_atom = caf::atom_constant<caf::atom("append")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using cut_atom = caf::atom_constant<caf::atom("cut")>;
using verify_atom = caf::atom_constant<caf::atom("verify")>;
using query_atom = caf::atom_constant<caf::atom("query")>;
using outcome_atom = caf::atom_constant<caf::atom("outcome")>;
using deadline_atom = caf::atom_constant<caf::atom("deadline")>;
using closed_atom = caf::atom_constant<caf::atom("closed")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using ingest_atom = caf::atom_constant<caf::atom("ingest")>;
using chunk_atom = caf::atom_constant<caf::atom("chunk")>;
using status_atom = caf::atom_constant<caf::atom("status")>;
using suspend_atom = caf::atom_constant<caf::atom("suspend")>;
using resume_atom = caf::atom_constant<caf::atom("resume")>;
using crash_atom = caf::atom_constant<caf::atom("crash")>;
using restarts_atom = caf::atom_constant<caf::atom("restarts")>;

/// Registry names under which the supervisor publishes the current handle of each actor, so that a
/// restarted actor is found by everyone who asks after the restart.
using audit_name = caf::atom_constant<caf::atom("audit")>;
using render_name = caf::atom_constant<caf::atom("renderpool")>;
using issuance_name = caf::atom_constant<caf::atom("issuance")>;
using feeds_name = caf::atom_constant<caf::atom("feeds")>;
using timer_name = caf::atom_constant<caf::atom("deltimer")>;

} // namespace kofu
