#pragma once

// The feed ingestion actor: loads feeds one at a time (uploads and inbox files take the same path:
// feed_load), on a thread of its own since parsing, sealing and writing a million records is
// blocking work. It also watches the inbox folder.

#include <deque>
#include <map>
#include <set>
#include <memory>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/catalogue.hpp"
#include "actors/feed_load.hpp"
#include "actors/node_context.hpp"

namespace kofu {

struct feed_ingestor_state {
  node_context_ptr ctx;
  std::deque<feed_job> queue;
  /// The feed being loaded now (an upload, fed by chunks).
  uint64_t active_id = 0;
  std::unique_ptr<feed_load> active;
  /// The first chunk of uploads waiting for their turn (their connection reads no further).
  std::map<uint64_t, feed_chunk> parked;
  /// Inbox files already queued (by name).
  std::set<std::string> inbox_taken;
  static inline const char* name = "feed_ingestor";
};

feed_actor::behavior_type feed_ingestor(feed_actor::stateful_pointer<feed_ingestor_state> self,
                                        node_context_ptr ctx);

/// Files in the inbox folder not yet taken (names only, sorted); feed files are `*.csv`.
std::vector<std::string> inbox_files(const std::string& inbox_dir);

} // namespace kofu
