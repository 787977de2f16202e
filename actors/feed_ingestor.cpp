#include "actors/feed_ingestor.hpp"

#include <filesystem>
#include <fstream>

#include <caf/actor_system.hpp>

#include "actors/audit_logger.hpp"
#include "actors/thread_priority.hpp"

namespace kofu {

namespace {

using self_ptr = feed_actor::stateful_pointer<feed_ingestor_state>;

/// Bytes read from an inbox file at a time.
constexpr size_t file_chunk_bytes = 1 << 20;
/// Feeds queued at most; past it a new feed is rejected at once.
constexpr size_t queue_max = 64;
/// How much of an inbox file is read to find its header's sequence.
constexpr size_t header_peek_bytes = 1024;

void audit_feed(self_ptr self, const feed_job& job, bool applied) {
  auto e = audit_event(job.actor, applied ? "feed_applied" : "feed_rejected",
                       applied ? "ok" : "rejected");
  e.detail = "feed " + std::to_string(job.feed_id);
  audit_later(self->system(), audit_batch{{std::move(e)}, {}});
}

void next(self_ptr self);

/// An inbox file, read whole in this handler (the actor has its own thread).
void load_file(self_ptr self, const feed_job& job) {
  auto& ctx = *self->state.ctx;
  feed_load load(ctx, job.feed_id);
  std::ifstream in(job.path, std::ios::binary);
  bool applied = false;
  if (!in) {
    load.abort("the inbox file cannot be read");
  } else {
    std::string buf(file_chunk_bytes, '\0');
    while (in) {
      in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      auto n = static_cast<size_t>(in.gcount());
      if (n > 0)
        load.feed(std::string_view(buf.data(), n));
    }
    if (in.bad())
      load.abort("reading the inbox file failed");
    else
      applied = load.finish();
    wipe(buf);
  }
  // The node never keeps a plaintext copy (data-lifecycle.md): the file goes either way.
  std::error_code ec;
  std::filesystem::remove(job.path, ec);
  audit_feed(self, job, applied);
}

void take_chunk(self_ptr self, feed_chunk& c) {
  auto& st = self->state;
  if (c.aborted) {
    if (st.active)
      st.active->abort("the upload broke off");
    st.active.reset();
    st.active_id = 0;
    audit_feed(self, feed_job{c.feed_id, {}, "upload"}, false);
    next(self);
    return;
  }
  st.active->feed(c.data);
  wipe(c.data);
  if (c.last) {
    // The whole body is in: the upload is answered (202) now, not after the commit, which may
    // take a while; its progress is read with GET (admin-api.md: "its answer comes at once").
    if (c.resume)
      c.resume();
    bool applied = st.active->finish();
    st.active.reset();
    st.active_id = 0;
    audit_feed(self, feed_job{c.feed_id, {}, "upload"}, applied);
    next(self);
    return;
  }
  if (c.resume)
    c.resume();
}

/// Starts the next queued feed, if idle.
void next(self_ptr self) {
  auto& st = self->state;
  while (st.active_id == 0 && !st.queue.empty()) {
    auto job = std::move(st.queue.front());
    st.queue.pop_front();
    if (!job.path.empty()) {
      load_file(self, job);
      continue;
    }
    st.active_id = job.feed_id;
    st.active = std::make_unique<feed_load>(*st.ctx, job.feed_id);
    auto parked = st.parked.find(job.feed_id);
    if (parked != st.parked.end()) {
      auto chunk = std::move(parked->second);
      st.parked.erase(parked);
      take_chunk(self, chunk);
    }
  }
}

} // namespace

feed_actor::behavior_type feed_ingestor(feed_actor::stateful_pointer<feed_ingestor_state> self,
                                        node_context_ptr ctx) {
  // A detached actor: this runs on its own thread, and the threads a load starts inherit it.
  lower_this_thread_priority(feed_nice_increment);
  self->state.ctx = ctx;
  if (!ctx->cfg.feeds.inbox_dir.empty() && ctx->cfg.feeds.inbox_poll_ms > 0)
    self->send(self, tick_atom::value);
  return {
    [=](tick_atom) {
      auto& st = self->state;
      auto& dir = st.ctx->cfg.feeds.inbox_dir;
      for (auto& name : inbox_files(dir)) {
        if (!st.inbox_taken.insert(name).second)
          continue;
        auto id = st.ctx->feeds.create("inbox", "inbox");
        st.queue.push_back(feed_job{id, dir + "/" + name, "inbox"});
      }
      // Forget names that are gone (removed after loading), so a new delivery under the same
      // name is taken again.
      auto present = inbox_files(dir);
      std::set<std::string> keep(present.begin(), present.end());
      for (auto i = st.inbox_taken.begin(); i != st.inbox_taken.end();)
        i = keep.count(*i) ? std::next(i) : st.inbox_taken.erase(i);
      next(self);
      self->delayed_send(self, std::chrono::milliseconds(st.ctx->cfg.feeds.inbox_poll_ms),
                         tick_atom::value);
    },
    [=](ingest_atom, feed_job& job) {
      auto& st = self->state;
      if (st.queue.size() >= queue_max) {
        feed_load rejected(*st.ctx, job.feed_id);
        rejected.abort("too many feeds queued; deliver it again later");
        return;
      }
      // A file named by POST is not taken a second time by the watcher while it is queued or
      // loading (forgotten once it is gone, like the watcher's own).
      if (!job.path.empty())
        st.inbox_taken.insert(std::filesystem::path(job.path).filename().string());
      st.queue.push_back(std::move(job));
      next(self);
    },
    [=](chunk_atom, feed_chunk& c) {
      auto& st = self->state;
      if (c.feed_id == st.active_id && st.active) {
        take_chunk(self, c);
        return;
      }
      // Not its turn yet: keep the chunk; its connection waits for resume().
      st.parked[c.feed_id] = std::move(c);
    },
  };
}

namespace {

/// The `sequence=` of a feed file's header line, 0 when it cannot be read: files found together
/// are loaded in sequence order (a full feed before the delta that follows it), then by name.
uint64_t header_sequence(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string line(header_peek_bytes, '\0');
  in.read(line.data(), static_cast<std::streamsize>(line.size()));
  line.resize(static_cast<size_t>(in.gcount()));
  line = line.substr(0, line.find('\n'));
  auto pos = line.find(",sequence=");
  if (pos == std::string::npos)
    return 0;
  return std::strtoull(line.c_str() + pos + 10, nullptr, 10);
}

} // namespace

std::vector<std::string> inbox_files(const std::string& inbox_dir) {
  std::vector<std::pair<uint64_t, std::string>> found;
  std::error_code ec;
  for (auto& entry : std::filesystem::directory_iterator(inbox_dir, ec))
    if (entry.is_regular_file() && entry.path().extension() == ".csv")
      found.emplace_back(header_sequence(entry.path()), entry.path().filename().string());
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& [seq, name] : found)
    out.push_back(std::move(name));
  return out;
}

} // namespace kofu
