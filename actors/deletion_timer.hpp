#pragma once

// The deletion timer: once a minute it cuts the audit log's head past retention.audit_days and
// deletes residents who left more than retention.resident_days ago (with their tax records).
// Validates its work before it re-arms (VAST's disk_monitor shape).

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

timer_actor::behavior_type deletion_timer(timer_actor::stateful_pointer<deletion_timer_state> self,
                                          node_context_ptr ctx);

} // namespace kofu
