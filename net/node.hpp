#pragma once

// The node: one kofud process. Composition root: checks the key file, opens storage, sweeps what a
// crash left, loads the fonts, starts the actor system with the root supervisor, then the center
// and admin listeners. docs/ARCHITECTURE.md walks through it.

#include <atomic>
#include <memory>
#include <string>

#include "config/config.hpp"

namespace kofu {

class node {
public:
  /// Everything is checked here, before anything listens; throws std::runtime_error (or
  /// config::config_error) with a message that names what is wrong.
  explicit node(config::node_config cfg);
  ~node();
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  /// Binds and serves; writes node.ports_file when set.
  void start();

  /// Blocks until SIGINT/SIGTERM, or until the supervisor gives up (returns false then).
  bool wait_for_shutdown();

  /// Stops listening, stops the actors, closes storage. Idempotent.
  void stop();

  uint16_t center_port() const;
  uint16_t admin_port() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Blocks SIGINT and SIGTERM in the calling thread (call before any thread starts) so that
/// wait_for_shutdown() can take them.
void block_shutdown_signals();

} // namespace kofu
