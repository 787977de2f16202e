#include "actors/audit_logger.hpp"

#include <chrono>
#include <thread>

#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include "messages/clock.hpp"

namespace kofu {

namespace {

/// Batches written in one group, at most (bounds the size of one RocksDB write).
constexpr size_t group_batches_max = 1'024;

} // namespace

audit_actor::behavior_type audit_logger(audit_actor::stateful_pointer<audit_logger_state> self,
                                        node_context_ptr ctx) {
  self->state.ctx = ctx;
  self->state.chain = storage::load_audit_state(*ctx->db);
  self->state.key = std::make_unique<storage::hmac_key>(ctx->audit_key);
  return {
    [=](append_atom, audit_batch& batch) -> caf::result<uint64_t> {
      auto promise = self->make_response_promise<uint64_t>();
      self->state.queue.push_back({std::move(batch), promise});
      if (!self->state.flush_pending) {
        // Queued behind everything already in the mailbox: those appends join this group.
        self->state.flush_pending = true;
        self->send(self, flush_atom::value);
      }
      return promise;
    },
    [=](cut_atom, const std::string& cutoff) -> caf::result<uint64_t> {
      // Between two groups: what is queued is chained onto the new head when it is written.
      try {
        return storage::cut_audit_head(*self->state.ctx->db, self->state.chain, cutoff);
      } catch (const std::exception&) {
        return make_error(ec::internal_error, "audit retention cut failed");
      }
    },
    [=](flush_atom) {
      auto& st = self->state;
      // This is the logger's own thread (a detached actor): it sleeps out the rest of the
      // interval, then looks at its mailbox again, so that what arrived meanwhile joins the group.
      auto interval = std::chrono::microseconds(st.ctx->cfg.issuance.commit_interval_us);
      auto next = st.last_commit + interval;
      if (!st.waited && std::chrono::steady_clock::now() < next) {
        std::this_thread::sleep_until(next);
        st.waited = true;
        self->send(self, flush_atom::value);
        return;
      }
      st.waited = false;
      st.flush_pending = false;
      std::vector<audit_logger_state::pending> group;
      while (!st.queue.empty() && group.size() < group_batches_max) {
        group.push_back(std::move(st.queue.front()));
        st.queue.pop_front();
      }
      if (!st.queue.empty()) {
        st.flush_pending = true;
        self->send(self, flush_atom::value);
      }
      storage::write_batch wb(*st.ctx->db);
      auto chain = st.chain;
      std::vector<uint64_t> last_seqs;
      for (auto& p : group) {
        storage::chain_entries(*st.key, chain, p.batch.entries, wb);
        if (p.batch.extra)
          p.batch.extra(wb);
        last_seqs.push_back(chain.last_seq);
      }
      auto started = std::chrono::steady_clock::now();
      st.last_commit = started;
      try {
        st.ctx->db->write(wb, false);
      } catch (const std::exception&) {
        // Nothing of the group landed: every waiter gets an error and the chain stays as it was.
        for (auto& p : group)
          p.promise.deliver(make_error(ec::internal_error, "audit write failed"));
        return;
      }
      // The group is in the database from here on, so the chain goes on from it. The fsync runs
      // apart from the write: RocksDB's write queue, which the sessions' own writes pass through,
      // is not held for the disk's time (docs/ARCHITECTURE.md).
      st.chain = chain;
      try {
        auto written = std::chrono::steady_clock::now();
        st.ctx->db->sync_wal();
        auto synced = std::chrono::steady_clock::now();
        st.ctx->metrics.audit_sync_duration.observe(
          std::chrono::duration<double>(synced - written).count());
        st.ctx->metrics.audit_commit_duration.observe(
          std::chrono::duration<double>(synced - started).count());
      } catch (const std::exception&) {
        // Written but not known to be durable: no waiter may act as if it were.
        for (auto& p : group)
          p.promise.deliver(make_error(ec::internal_error, "audit sync failed"));
        return;
      }
      st.ctx->metrics.add("kofu_audit_entries_total", "",
                          [&] {
                            uint64_t n = 0;
                            for (auto& p : group)
                              n += p.batch.entries.size();
                            return n;
                          }());
      for (size_t i = 0; i < group.size(); ++i)
        group[i].promise.deliver(last_seqs[i]);
    },
  };
}

storage::audit_entry audit_event(std::string actor, std::string event, std::string outcome) {
  storage::audit_entry e;
  e.time = format_jst(now_ms());
  e.actor = std::move(actor);
  e.event = std::move(event);
  e.outcome = std::move(outcome);
  return e;
}

void audit_later(caf::actor_system& sys, audit_batch batch) {
  auto a = current_audit(sys);
  if (a)
    caf::anon_send(a, append_atom::value, std::move(batch));
}

void audit_before_start(node_context& ctx, std::vector<storage::audit_entry> entries,
                        storage::write_batch& batch) {
  auto chain = storage::load_audit_state(*ctx.db);
  storage::chain_entries(ctx.audit_key, chain, entries, batch);
  ctx.db->write(batch, true);
}

audit_actor current_audit(caf::actor_system& sys) {
  return caf::actor_cast<audit_actor>(sys.registry().get(audit_name::value));
}

} // namespace kofu
