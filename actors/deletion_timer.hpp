#pragma once

// The deletion timer: once a minute it cuts the audit log's head past retention.audit_days and
// deletes residents who left more than retention.resident_days ago (with their tax records).
// Validates its work before it re-arms (VAST's disk_monitor shape).

#include <map>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/catalogue.hpp"
#include "actors/node_context.hpp"

namespace kofu {

struct deletion_timer_state {
  node_context_ptr ctx;
  bool running = false;
  static inline const char* name = "deletion_timer";
};

/// At the node's start: destroys the tax years that the open year and retention.fiscal_years no
/// longer keep but that are still loaded (a rollover that a crash interrupted, or a retention made
/// shorter), as a rollover does, and audits it. Returns the records destroyed per year.
std::map<int32_t, uint64_t> destroy_expired_years(node_context& ctx);

timer_actor::behavior_type deletion_timer(timer_actor::stateful_pointer<deletion_timer_state> self,
                                          node_context_ptr ctx);

} // namespace kofu
