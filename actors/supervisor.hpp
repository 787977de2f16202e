#pragma once

// The root supervisor: spawns every long-lived actor of the node, publishes its current handle in
// the actor registry, monitors it, and restarts it when it dies abnormally, within a restart budget
// (supervisor.restarts_max in supervisor.restart_window_s). Past the budget it stops the node with
// an error naming the actor. One-for-one: a restart touches no other actor.

#include <deque>
#include <map>
#include <memory>
#include <functional>
#include <string>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/node_context.hpp"

namespace kofu {

/// One supervised child: how to spawn it and under which registry name to publish it.
struct child_spec {
  std::string name;            // for logs and metrics
  caf::atom_value registry_name;
  std::function<caf::strong_actor_ptr(caf::local_actor* parent)> spawn;
};

struct supervisor_state {
  node_context_ptr ctx;
  struct child {
    child_spec spec;
    caf::actor_addr addr;
    std::deque<int64_t> restarts_ms;
  };
  std::vector<child> children;
  /// The current handle of each child, by name; shared with the exit functor.
  std::shared_ptr<std::map<std::string, caf::actor>> live
    = std::make_shared<std::map<std::string, caf::actor>>();
  static inline const char* name = "supervisor";
};

/// Messages: `restarts_atom` -> total restarts so far (uint64_t).
caf::behavior supervisor(caf::stateful_actor<supervisor_state>* self, node_context_ptr ctx,
                         std::vector<child_spec> specs);

/// The children of a kofu node: audit logger, render pool, issuance manager, feed ingestor,
/// deletion timer.
std::vector<child_spec> node_children(node_context_ptr ctx);

} // namespace kofu
