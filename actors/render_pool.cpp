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

render_worker_state::~render_worker_state() = default;

render_actor::behavior_type render_worker(render_actor::stateful_pointer<render_worker_state> self,
                                          node_context_ptr ctx) {
  // A detached actor: this runs on the worker's own thread.
  lower_this_thread_priority(render_nice_increment);
  self->state.renderer = std::make_unique<certificate::renderer>(ctx->fonts);
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
      return result;
    },
    [=](sample_atom) -> caf::result<rendered_pdf> {
      try {
        auto& r = *self->state.renderer;
        return to_rendered(r.render_sample(), r);
      } catch (const std::exception& e) {
        return make_error(ec::internal_error, e.what());
      }
    },
    [=](crash_atom) { self->quit(make_error(ec::internal_error, "injected crash")); },
  };
}

namespace {

using pool_ptr = render_actor::stateful_pointer<render_pool_state>;

void spawn_worker(pool_ptr self, size_t slot) {
  auto& st = self->state;
  auto w = self->spawn<caf::detached>(render_worker, st.ctx);
  self->monitor(w);
  if (slot < st.workers.size()) {
    st.workers[slot] = w;
    st.busy[slot] = 0;
  } else {
    st.workers.push_back(w);
    st.busy.push_back(0);
  }
}

size_t least_busy(const render_pool_state& st) {
  size_t best = 0;
  for (size_t i = 1; i < st.busy.size(); ++i)
    if (st.busy[i] < st.busy[best])
      best = i;
  return best;
}

template <class... Ts>
caf::result<rendered_pdf> dispatch(pool_ptr self, Ts&&... xs) {
  auto& st = self->state;
  if (st.in_flight >= st.ctx->cfg.render.queue_max)
    return make_error(ec::overloaded);
  auto slot = least_busy(st);
  auto worker = st.workers[slot];
  ++st.in_flight;
  ++st.busy[slot];
  st.ctx->render_queue_depth.store(st.in_flight);
  auto promise = self->make_response_promise<rendered_pdf>();
  auto done = [=](size_t s, const render_actor& w) {
    auto& st = self->state;
    --st.in_flight;
    // A replaced worker's slot was reset already.
    if (s < st.workers.size() && st.workers[s] == w && st.busy[s] > 0)
      --st.busy[s];
    st.ctx->render_queue_depth.store(st.in_flight);
  };
  // No timeout: a request with one costs two pushes to CAF's timer thread, and the session's
  // deadline already bounds what a caller waits. A worker that dies answers with an error.
  self->request(worker, caf::infinite, std::forward<Ts>(xs)...)
    .then(
      [=](rendered_pdf& pdf) mutable {
        done(slot, worker);
        promise.deliver(std::move(pdf));
      },
      [=](caf::error& err) mutable {
        done(slot, worker);
        promise.deliver(std::move(err));
      });
  return promise;
}

} // namespace

render_actor::behavior_type render_pool(render_actor::stateful_pointer<render_pool_state> self,
                                        node_context_ptr ctx) {
  self->state.ctx = ctx;
  auto n = ctx->cfg.render.workers;
  if (n == 0)
    n = std::max(1u, std::thread::hardware_concurrency());
  for (uint32_t i = 0; i < n; ++i)
    spawn_worker(self, i);
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
