#include "actors/deletion_timer.hpp"

#include <algorithm>

#include "actors/audit_logger.hpp"
#include "messages/clock.hpp"
#include "storage/audit_chain.hpp"

namespace kofu {

namespace {

constexpr auto tick_interval = std::chrono::seconds(60);
/// The audit head's cut: one synced write and a range deletion.
constexpr auto cut_timeout = std::chrono::seconds(30);
constexpr int64_t day_ms = 86'400'000;

} // namespace

std::map<int32_t, uint64_t> destroy_expired_years(node_context& ctx) {
  auto open = ctx.db->open_fiscal_year();
  if (!open)
    return {};
  auto keep = static_cast<int32_t>(ctx.cfg.retention.fiscal_years);
  // The oldest year a tax feed may bring, as the retention in force keeps it (recorded by every
  // rollover; set here for a database rolled over before it was, or a retention made longer).
  if (ctx.db->tax_kept_from() != *open - keep + 1)
    ctx.db->keep_tax_years_from(*open - keep + 1);
  auto years = ctx.db->loaded_tax_years();
  if (std::none_of(years.begin(), years.end(), [&](int32_t y) { return y <= *open - keep; }))
    return {};
  auto result = ctx.db->rollover(*open, ctx.cfg.retention.fiscal_years);
  std::string detail = "open " + std::to_string(*open);
  for (auto& [year, n] : result.destroyed)
    detail += "; destroyed " + std::to_string(year) + ": " + std::to_string(n) + " records";
  storage::write_batch b(*ctx.db);
  audit_before_start(ctx, {[&] {
                       auto e = audit_event("system", "rollover_finished", "ok");
                       e.detail = detail;
                       return e;
                     }()},
                     b);
  return result.destroyed;
}

timer_actor::behavior_type deletion_timer(timer_actor::stateful_pointer<deletion_timer_state> self,
                                          node_context_ptr ctx) {
  self->state.ctx = ctx;
  self->send(self, tick_atom::value);
  return {
    [=](tick_atom) {
      auto& st = self->state;
      if (st.running)
        return; // a tick is being handled: never two at once
      st.running = true;
      auto cutoff = format_jst(st.ctx->clock() - int64_t{st.ctx->cfg.retention.audit_days} * day_ms);
      // By the logger, which holds the chain's state; a failure is tried again at the next tick.
      if (auto audit = current_audit(self->system()))
        self->request(audit, cut_timeout, cut_atom::value, cutoff)
          .then(
            [=](uint64_t removed) {
              if (removed == 0)
                return;
              auto e = audit_event("system", "audit_retention", "ok");
              e.detail = std::to_string(removed) + " entries older than " + cutoff + " removed";
              audit_later(self->system(), audit_batch{{std::move(e)}, {}});
            },
            [](caf::error&) {});
      try {
        // What a feed's commit left to remove when a crash or a failure came between.
        st.ctx->db->remove_departed();
      } catch (const std::exception&) {
        // Tried again at the next tick.
      }
      try {
        auto today = jst_date(st.ctx->clock());
        auto gone = st.ctx->db->sweep_departed(today, st.ctx->cfg.retention.resident_days);
        if (gone > 0) {
          auto e = audit_event("system", "residents_deleted", "ok");
          e.detail = std::to_string(gone) + " residents who left, with their tax records";
          audit_later(self->system(), audit_batch{{std::move(e)}, {}});
        }
      } catch (const std::exception&) {
        // Tried again at the next tick.
      }
      st.running = false;
      self->delayed_send(self, tick_interval, tick_atom::value);
    },
  };
}

} // namespace kofu
