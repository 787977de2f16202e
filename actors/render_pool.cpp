#include "actors/render_pool.hpp"

#include <thread>

#include <caf/actor_system.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/thread_priority.hpp"
#include "certificate/certificate.hpp"

namespace kofu {

namespace {

rendered_pdf to_rendered(std::vector<uint8_t>&& bytes, const certificate::renderer& r) {
  return rendered_pdf{secure_bytes(std::move(bytes)), 1, r.last_sha256()};
}

} // namespace

render_lanes::taken render_lanes::take(uint32_t queue_max) {
  std::lock_guard guard(mutex_);
  if (lanes_.empty())
    return {{}, ec::internal_error};
  if (depth_.load() >= queue_max)
    return {{}, ec::overloaded};
  auto best = &lanes_.front();
  for (auto& l : lanes_)
    if (l.count->jobs < best->count->jobs)
      best = &l;
  ++best->count->jobs;
  depth_.fetch_add(1);
  return {best->worker, ec::none};
}

void render_lanes::retire(const lane_ptr& l) {
  l->retired = true;
  depth_.fetch_sub(l->jobs);
  l->jobs = 0;
}

void render_lanes::install(uint64_t owner, size_t slot, render_actor worker, lane_ptr l) {
  std::lock_guard guard(mutex_);
  if (slot < lanes_.size()) {
    retire(lanes_[slot].count);
    lanes_[slot] = {owner, std::move(worker), std::move(l)};
  } else {
    lanes_.push_back({owner, std::move(worker), std::move(l)});
  }
}

void render_lanes::clear(uint64_t owner) {
  std::lock_guard guard(mutex_);
  std::erase_if(lanes_, [&](const entry& e) {
    if (owner != 0 && e.owner != owner)
      return false;
    retire(e.count);
    return true;
  });
}

void render_lanes::done(const lane_ptr& l) {
  std::lock_guard guard(mutex_);
  if (l->retired || l->jobs == 0)
    return;
  --l->jobs;
  depth_.fetch_sub(1);
}

render_worker_state::~render_worker_state() = default;

render_actor::behavior_type render_worker(render_actor::stateful_pointer<render_worker_state> self,
                                          node_context_ptr ctx, render_lanes::lane_ptr lane) {
  // A detached actor: this runs on the worker's own thread.
  lower_this_thread_priority(render_nice_increment);
  self->state.renderer = std::make_unique<certificate::renderer>(ctx->fonts);
  // Every job of a lane was counted in by render_lanes::take; it is counted out once answered.
  auto count_out = [ctx, lane] {
    if (lane)
      ctx->render->done(lane);
  };
  return {
    [=](render_atom, render_job& job) -> caf::result<rendered_pdf> {
      certificate::certificate_input in{std::move(job.resident), std::move(job.tax),
                                        std::move(job.certificate_number), job.issue_date};
      auto run = [&]() -> caf::result<rendered_pdf> {
        try {
          auto& r = *self->state.renderer;
          return to_rendered(r.render(in), r);
        } catch (const certificate::unrenderable_text& e) {
          return make_error(ec::unrenderable, e.what());
        } catch (const std::exception&) {
          // The message may quote the input; only the fact goes on.
          return make_error(ec::internal_error, "render failed");
        }
      };
      auto result = run();
      wipe(in.resident);
      wipe(in.tax);
      count_out();
      return result;
    },
    [=](sample_atom) -> caf::result<rendered_pdf> {
      auto run = [&]() -> caf::result<rendered_pdf> {
        try {
          auto& r = *self->state.renderer;
          return to_rendered(r.render_sample(), r);
        } catch (const std::exception& e) {
          return make_error(ec::internal_error, e.what());
        }
      };
      auto result = run();
      count_out();
      return result;
    },
    [=](crash_atom) { self->quit(make_error(ec::internal_error, "injected crash")); },
  };
}

namespace {

using pool_ptr = render_actor::stateful_pointer<render_pool_state>;

void spawn_worker(pool_ptr self, size_t slot) {
  auto& st = self->state;
  auto lane = render_lanes::make_lane();
  auto w = self->spawn<caf::detached>(render_worker, st.ctx, lane);
  self->monitor(w);
  if (slot < st.workers.size())
    st.workers[slot] = w;
  else
    st.workers.push_back(w);
  st.ctx->render->install(self->id(), slot, w, std::move(lane));
}

/// A job sent to the pool itself (the admin's sample, tests): through a lane like a session's.
template <class... Ts>
caf::result<rendered_pdf> dispatch(pool_ptr self, Ts&&... xs) {
  auto& st = self->state;
  auto lane = st.ctx->render->take(st.ctx->cfg.render.queue_max);
  if (lane.error != ec::none)
    return make_error(lane.error);
  auto promise = self->make_response_promise<rendered_pdf>();
  // No timeout: a request with one costs two pushes to CAF's timer thread, and the caller's own
  // timeout bounds what it waits. A worker that dies answers with an error.
  self->request(lane.worker, caf::infinite, std::forward<Ts>(xs)...)
    .then([=](rendered_pdf& pdf) mutable { promise.deliver(std::move(pdf)); },
          [=](caf::error& err) mutable { promise.deliver(std::move(err)); });
  return promise;
}

} // namespace

render_actor::behavior_type render_pool(render_actor::stateful_pointer<render_pool_state> self,
                                        node_context_ptr ctx) {
  self->state.ctx = ctx;
  auto n = ctx->cfg.render.workers;
  if (n == 0)
    n = std::max(1u, std::thread::hardware_concurrency());
  // A pool that starts (again) replaces the lanes of the one before; one that ends takes its own
  // away (they hold its workers), and only its own: a successor may have started already.
  ctx->render->clear();
  for (uint32_t i = 0; i < n; ++i)
    spawn_worker(self, i);
  self->attach_functor([ctx, id = self->id()] { ctx->render->clear(id); });
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    for (size_t i = 0; i < st.workers.size(); ++i)
      if (st.workers[i].address() == dm.source) {
        st.ctx->metrics.add("kofu_actor_restarts_total", "actor=\"render_worker\"");
        spawn_worker(self, i);
      }
  });
  return {
    [=](render_atom, render_job& job) -> caf::result<rendered_pdf> {
      return dispatch(self, render_atom::value, std::move(job));
    },
    [=](sample_atom) -> caf::result<rendered_pdf> { return dispatch(self, sample_atom::value); },
    [=](crash_atom) {
      if (!self->state.workers.empty())
        self->send(self->state.workers.front(), crash_atom::value);
    },
  };
}

} // namespace kofu
