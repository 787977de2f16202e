#pragma once

// The rendering pool: N render workers, each on its own thread with its own renderer (PoDoFo
// objects never cross threads), behind one handle with a bounded queue. A worker that crashes is
// replaced; the request it held fails with an error, never with another person's PDF.

#include <memory>
#include <vector>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/catalogue.hpp"
#include "actors/node_context.hpp"

namespace kofu::certificate {
class renderer;
} // namespace kofu::certificate

namespace kofu {

struct render_worker_state {
  std::unique_ptr<certificate::renderer> renderer;
  ~render_worker_state();
  static inline const char* name = "render_worker";
};

render_actor::behavior_type render_worker(render_actor::stateful_pointer<render_worker_state> self,
                                          node_context_ptr ctx);

struct render_pool_state {
  node_context_ptr ctx;
  std::vector<render_actor> workers;
  std::vector<uint32_t> busy; // jobs outstanding per worker
  uint32_t in_flight = 0;
  static inline const char* name = "render_pool";
};

render_actor::behavior_type render_pool(render_actor::stateful_pointer<render_pool_state> self,
                                        node_context_ptr ctx);

} // namespace kofu
