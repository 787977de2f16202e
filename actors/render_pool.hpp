#pragma once

// The rendering pool: N render workers, each on its own thread with its own renderer (PoDoFo
// objects never cross threads), with a bounded queue. A worker that crashes is replaced; the
// request it held fails with an error, never with another person's PDF. Sessions reach the
// workers through render_lanes, straight: a certificate takes no hop through the pool actor.

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/catalogue.hpp"
#include "actors/node_context.hpp"

namespace kofu::certificate {
class renderer;
} // namespace kofu::certificate

namespace kofu {

/// The render workers as a session reaches them: one lane per worker with the jobs it holds, and
/// the bound on all of them (render.queue_max, counted in node_context::render_queue_depth). The
/// pool installs its workers here; a session takes a lane and sends its job to that worker, which
/// counts the job out when it has answered. Thread-safe.
class render_lanes {
public:
  /// The jobs of one worker; a replaced worker's lane is retired and counts nothing more.
  struct lane {
    uint32_t jobs = 0;
    bool retired = false;
  };
  using lane_ptr = std::shared_ptr<lane>;

  explicit render_lanes(std::atomic<uint32_t>& depth) : depth_(depth) {}

  /// The least busy worker, with one job counted in; `ec::overloaded` when `queue_max` jobs are
  /// out, `ec::internal_error` when no worker runs.
  struct taken {
    render_actor worker;
    ec error = ec::none;
  };
  taken take(uint32_t queue_max);

  /// A new lane for a worker about to be installed in `slot`.
  static lane_ptr make_lane() { return std::make_shared<lane>(); }
  /// Puts `worker` of pool `owner` in `slot`; the jobs counted for the worker it replaces are
  /// dropped from the bound (that worker is dead).
  void install(uint64_t owner, size_t slot, render_actor worker, lane_ptr l);
  /// Drops the lanes of pool `owner` (it ends), or every lane (0: a pool starts).
  void clear(uint64_t owner = 0);
  /// A worker has answered one job of its lane.
  void done(const lane_ptr& l);

private:
  void retire(const lane_ptr& l); // mutex_ held
  std::mutex mutex_;
  struct entry {
    uint64_t owner;
    render_actor worker;
    lane_ptr count;
  };
  std::vector<entry> lanes_;
  std::atomic<uint32_t>& depth_;
};

struct render_worker_state {
  std::unique_ptr<certificate::renderer> renderer;
  ~render_worker_state();
  static inline const char* name = "render_worker";
};

/// A worker counting its jobs out of `lane` (null: a worker used on its own, counting nothing).
render_actor::behavior_type render_worker(render_actor::stateful_pointer<render_worker_state> self,
                                          node_context_ptr ctx, render_lanes::lane_ptr lane);

struct render_pool_state {
  node_context_ptr ctx;
  std::vector<render_actor> workers;
  static inline const char* name = "render_pool";
};

render_actor::behavior_type render_pool(render_actor::stateful_pointer<render_pool_state> self,
                                        node_context_ptr ctx);

} // namespace kofu
