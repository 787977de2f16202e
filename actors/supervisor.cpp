#include "actors/supervisor.hpp"

#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include "actors/audit_logger.hpp"
#include "actors/deletion_timer.hpp"
#include "actors/feed_ingestor.hpp"
#include "actors/issuance_manager.hpp"
#include "actors/render_pool.hpp"
#include "messages/clock.hpp"
#include "net/center_codec.hpp"

namespace kofu {

namespace {

void start_child(caf::stateful_actor<supervisor_state>* self, supervisor_state::child& c) {
  auto ptr = c.spec.spawn(self);
  auto handle = caf::actor_cast<caf::actor>(ptr);
  self->monitor(handle);
  c.addr = handle.address();
  self->state.live->insert_or_assign(c.spec.name, handle);
  self->system().registry().put(c.spec.registry_name, ptr);
}

} // namespace

caf::behavior supervisor(caf::stateful_actor<supervisor_state>* self, node_context_ptr ctx,
                         std::vector<child_spec> specs) {
  self->state.ctx = ctx;
  // Children are monitored, not linked (a link would take the supervisor down with a child that
  // was killed): they are stopped here when the supervisor ends, whatever the reason.
  // The functor runs after the state is gone: it owns its own reference to the live handles.
  self->attach_functor([live = self->state.live](const caf::error&) {
    for (auto& [name, handle] : *live)
      caf::anon_send_exit(handle, caf::exit_reason::user_shutdown);
    live->clear();
  });
  for (auto& spec : specs)
    self->state.children.push_back({std::move(spec), {}, {}});
  for (auto& c : self->state.children)
    start_child(self, c);
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    for (auto& c : st.children) {
      if (c.addr != dm.source)
        continue;
      self->system().registry().erase(c.spec.registry_name);
      if (dm.reason == caf::exit_reason::user_shutdown)
        return;
      auto now = now_ms();
      auto window_ms = int64_t{st.ctx->cfg.supervisor.restart_window_s} * 1000;
      while (!c.restarts_ms.empty() && now - c.restarts_ms.front() > window_ms)
        c.restarts_ms.pop_front();
      if (c.restarts_ms.size() >= st.ctx->cfg.supervisor.restarts_max) {
        std::fprintf(stderr,
                     "{\"level\":\"error\",\"event\":\"restart_budget_exhausted\",\"actor\":\"%s\"}\n",
                     c.spec.name.c_str());
        self->quit(make_error(ec::internal_error, "restart budget of " + c.spec.name + " used up"));
        return;
      }
      c.restarts_ms.push_back(now);
      st.ctx->metrics.add("kofu_actor_restarts_total", "actor=\"" + c.spec.name + "\"");
      std::fprintf(stderr, "{\"level\":\"warn\",\"event\":\"actor_restarted\",\"actor\":\"%s\"}\n",
                   c.spec.name.c_str());
      start_child(self, c);
      return;
    }
  });
  return {
    [=](restarts_atom) -> uint64_t {
      uint64_t n = 0;
      for (auto& c : self->state.children)
        n += c.restarts_ms.size();
      return n;
    },
  };
}

std::vector<child_spec> node_children(node_context_ptr ctx) {
  auto codec = net::make_json_codec();
  std::vector<child_spec> specs;
  specs.push_back({"audit_logger", audit_name::value, [ctx](caf::local_actor* p) {
                     return caf::actor_cast<caf::strong_actor_ptr>(
                       p->spawn<caf::detached>(audit_logger, ctx));
                   }});
  specs.push_back({"render_pool", render_name::value, [ctx](caf::local_actor* p) {
                     return caf::actor_cast<caf::strong_actor_ptr>(p->spawn(render_pool, ctx));
                   }});
  specs.push_back({"issuance_manager", issuance_name::value, [ctx, codec](caf::local_actor* p) {
                     return caf::actor_cast<caf::strong_actor_ptr>(
                       p->spawn(issuance_manager, ctx, codec));
                   }});
  specs.push_back({"feed_ingestor", feeds_name::value, [ctx](caf::local_actor* p) {
                     return caf::actor_cast<caf::strong_actor_ptr>(
                       p->spawn<caf::detached>(feed_ingestor, ctx));
                   }});
  // Detached: its sweeps compact and flush (seconds for a large year), which would hold one of
  // the scheduler's threads that the sessions run on.
  specs.push_back({"deletion_timer", timer_name::value, [ctx](caf::local_actor* p) {
                     return caf::actor_cast<caf::strong_actor_ptr>(
                       p->spawn<caf::detached>(deletion_timer, ctx));
                   }});
  return specs;
}

} // namespace kofu
