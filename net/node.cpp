#include "net/node.hpp"

#include <csignal>
#include <cstdio>
#include <fstream>
#include <thread>

#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>

#include "actors/deletion_timer.hpp"
#include "actors/issuance_session.hpp"
#include "actors/node_context.hpp"
#include "actors/supervisor.hpp"
#include "certificate/certificate.hpp"
#include "messages/clock.hpp"
#include "net/admin_routes.hpp"
#include "net/center_routes.hpp"
#include "net/http_server.hpp"
#include "storage/master_key.hpp"

namespace kofu {

namespace {

/// How often wait_for_shutdown looks at the supervisor between signals.
constexpr auto shutdown_poll = std::chrono::milliseconds(200);

void log_event(const char* level, const char* event, const std::string& detail = {}) {
  // Structured, one line per event, never personal data.
  std::fprintf(stderr, "{\"level\":\"%s\",\"event\":\"%s\"%s%s%s}\n", level, event,
               detail.empty() ? "" : ",\"detail\":\"", detail.c_str(), detail.empty() ? "" : "\"");
}

std::unique_ptr<caf::actor_system_config> actor_config() {
  auto cfg = std::make_unique<caf::actor_system_config>();
  cfg->add_error_category(error_category_atom, render_error);
  auto cores = std::max(2u, std::thread::hardware_concurrency());
  cfg->set("scheduler.max-threads", static_cast<size_t>(cores));
  // An idle CAF worker polls its queue 100 times, then 500 times with a 50 µs sleep between
  // (a nanosleep each), and only then waits on its condition variable. Under kofu's load the
  // workers idle often for a moment, so they spent the node's CPU in nanosleep: at 500 requests/s
  // offered kofud took 1.5 ms of CPU per request with the defaults and 1.1 ms with the sleeping
  // polls skipped, p99 8 ms against 3 ms (docs/BENCH.md, run 7). A message from an I/O thread or
  // a detached actor wakes a waiting worker through the condition variable.
  cfg->set("work-stealing.aggressive-poll-attempts", size_t{10});
  cfg->set("work-stealing.moderate-poll-attempts", size_t{0});
  return cfg;
}

certificate::layout_config layout_of(const config::node_config& cfg) {
  certificate::layout_config l;
  l.city_name = cfg.node.city_name;
  l.mayor_name = cfg.node.mayor_name;
  l.prefecture_tax_word = cfg.node.prefecture_tax_word;
  l.seal_png_path = cfg.render.seal_png_file;
  l.body_font_path = cfg.render.body_font_file;
  l.fallback_font_path = cfg.render.fallback_font_file;
  l.specimen = cfg.render.specimen;
  return l;
}

net::http_server_options center_options(const config::node_config& cfg) {
  net::http_server_options o;
  o.host = cfg.center.listen.host;
  o.port = cfg.center.listen.port;
  o.tls = true;
  o.tls_files.cert_file = cfg.center.tls.cert_file;
  o.tls_files.key_file = cfg.center.tls.key_file;
  o.tls_files.client_ca_file = cfg.center.client_ca_file;
  o.tls_files.require_client_cert = true;
  o.tls_files.client_fingerprints_sha256 = cfg.center.client_fingerprints_sha256;
  o.idle_timeout_ms = cfg.center.idle_timeout_ms;
  o.read_timeout_ms = cfg.center.read_timeout_ms;
  o.connections_max = cfg.center.connections_max;
  o.header_bytes_max = 8 * 1024;
  o.body_bytes_max = 8 * 1024;
  o.handler_timeout_ms = cfg.issuance.deadline_ms + 30'000;
  // TLS and JSON work of many connections: one I/O thread per core (bench: one thread was ~20%
  // of an issuance's CPU and held up 503 answers).
  o.io_threads = std::max(2u, std::thread::hardware_concurrency());
  return o;
}

net::http_server_options admin_options(const config::node_config& cfg) {
  net::http_server_options o;
  o.host = cfg.admin.listen.host;
  o.port = cfg.admin.listen.port;
  o.tls = cfg.admin.tls;
  o.tls_files.cert_file = cfg.admin.tls_files_.cert_file;
  o.tls_files.key_file = cfg.admin.tls_files_.key_file;
  o.idle_timeout_ms = cfg.admin.idle_timeout_ms;
  o.read_timeout_ms = cfg.admin.read_timeout_ms;
  o.body_bytes_max = 64 * 1024;
  o.handler_timeout_ms = 600'000; // a rollover of a large year takes seconds
  return o;
}

} // namespace

struct node::impl {
  node_context_ptr ctx;
  std::unique_ptr<caf::actor_system_config> actor_cfg;
  std::unique_ptr<caf::actor_system> system;
  caf::actor root;
  std::unique_ptr<net::http_server> center;
  std::unique_ptr<net::http_server> admin;
  std::atomic<bool> root_failed{false};
  bool stopped = false;
};

node::node(config::node_config cfg) : impl_(std::make_unique<impl>()) {
  auto key = storage::load_master_key(cfg.node.master_key_file, cfg.node.key_file_checks);
  auto db = storage::database::open(cfg.node.data_dir, key);
  impl_->ctx = std::make_shared<node_context>(std::move(cfg), std::move(db));
  auto& ctx = *impl_->ctx;
  if (auto swept = sweep_dead_sessions(ctx); swept > 0)
    log_event("warn", "sessions_swept", std::to_string(swept));
  for (auto& [year, records] : destroy_expired_years(ctx))
    log_event("warn", "tax_year_destroyed",
              std::to_string(year) + " (" + std::to_string(records)
                + " records), past retention: a rollover was interrupted or retention shortened");
  for (auto id : ctx.feeds.close_interrupted())
    log_event("warn", "feed_interrupted", "feed " + std::to_string(id)
                                            + " was not applied; deliver it again");
  ctx.fonts = certificate::load_fonts(layout_of(ctx.cfg));
  ctx.metrics.set("kofu_service_suspended", "", ctx.service.suspended() ? 1 : 0);
  // Every series exists from the start, at zero, so that a scrape never misses one.
  ctx.metrics.add("kofu_issuance_requests_total", "code=\"ok\"", 0);
  ctx.metrics.add("kofu_audit_entries_total", "", 0);
  ctx.metrics.add("kofu_issuance_checks_restarted_total", "", 0);
  for (auto actor : {"audit_logger", "render_pool", "render_worker", "issuance_manager",
                     "feed_ingestor", "deletion_timer"})
    ctx.metrics.add("kofu_actor_restarts_total", "actor=\"" + std::string(actor) + "\"", 0);
  for (auto kind : {"residents", "tax"})
    for (auto result : {"applied", "rejected", "skipped"})
      ctx.metrics.add("kofu_feed_records_total",
                      "kind=\"" + std::string(kind) + "\",result=\"" + result + "\"", 0);
  // The last applied feed of each kind, from the feed history: the gauge is right after a
  // restart too, not only once a feed is applied in this run.
  for (auto kind : {"residents", "tax"})
    if (auto f = ctx.feeds.last_applied(kind))
      if (auto ms = parse_rfc3339_ms(f->finished_at))
        ctx.metrics.set("kofu_feed_last_applied_timestamp_seconds",
                        "kind=\"" + std::string(kind) + "\"", static_cast<double>(*ms) / 1e3);
  ctx.metrics.gauge("kofu_sessions_live", "Live issuance sessions.", [c = &ctx](auto& emit) {
    emit("", c->live_sessions.load());
  });
  ctx.metrics.gauge("kofu_render_queue_depth", "Certificates queued or rendering.",
                    [c = &ctx](auto& emit) { emit("", c->render_queue_depth.load()); });
  ctx.metrics.gauge("kofu_storage_bytes", "Bytes on disk per column family.",
                    [c = &ctx](auto& emit) {
                      for (auto& [cf, bytes] : c->db->sizes())
                        emit("column_family=\"" + cf + "\"", static_cast<double>(bytes));
                    });
}

node::~node() {
  stop();
}

void node::start() {
  auto& d = *impl_;
  d.actor_cfg = actor_config();
  d.system = std::make_unique<caf::actor_system>(*d.actor_cfg);
  d.ctx->system = d.system.get();
  d.root = d.system->spawn(supervisor, d.ctx, node_children(d.ctx));
  d.root->attach_functor([&d](const caf::error& reason) {
    if (reason && reason != caf::exit_reason::user_shutdown)
      d.root_failed = true;
  });
  d.center = std::make_unique<net::http_server>(center_options(d.ctx->cfg),
                                                net::center_handler(d.ctx, net::make_json_codec()));
  d.admin = std::make_unique<net::http_server>(admin_options(d.ctx->cfg),
                                               net::admin_handler(d.ctx),
                                               net::admin_policy(d.ctx));
  d.center->start();
  d.admin->start();
  auto& ports_file = d.ctx->cfg.node.ports_file;
  if (!ports_file.empty()) {
    auto tmp = ports_file + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << "{\"center\": " << d.center->port() << ", \"admin\": " << d.admin->port() << "}\n";
    }
    std::rename(tmp.c_str(), ports_file.c_str());
  }
  log_event("info", "node_started",
            "center " + std::to_string(d.center->port()) + ", admin "
              + std::to_string(d.admin->port()));
}

bool node::wait_for_shutdown() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  timespec poll{0, static_cast<long>(
                     std::chrono::duration_cast<std::chrono::nanoseconds>(shutdown_poll).count())};
  for (;;) {
    if (impl_->root_failed)
      return false;
    if (sigtimedwait(&set, nullptr, &poll) > 0)
      return true;
  }
}

void node::stop() {
  auto& d = *impl_;
  if (d.stopped)
    return;
  d.stopped = true;
  if (d.center)
    d.center->stop();
  if (d.admin)
    d.admin->stop();
  if (d.system) {
    caf::anon_send_exit(d.root, caf::exit_reason::user_shutdown);
    d.root = nullptr;
    d.system->registry().erase(audit_name::value);
    d.system->registry().erase(render_name::value);
    d.system->registry().erase(issuance_name::value);
    d.system->registry().erase(feeds_name::value);
    d.system->registry().erase(timer_name::value);
    d.system->await_all_actors_done();
    d.ctx->system = nullptr;
    d.system.reset();
    // No session is left to take a number: the day's unused reservation goes back.
    try {
      d.ctx->certificate_numbers.release_unused();
    } catch (const std::exception& e) {
      log_event("warn", "certificate_numbers_not_released", e.what());
    }
  }
  d.center.reset();
  d.admin.reset();
  log_event("info", "node_stopped");
}

uint16_t node::center_port() const {
  return impl_->center ? impl_->center->port() : 0;
}

uint16_t node::admin_port() const {
  return impl_->admin ? impl_->admin->port() : 0;
}

void block_shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

} // namespace kofu
