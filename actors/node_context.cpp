#include "actors/node_context.hpp"

#include <caf/send.hpp>

#include "actors/deadline_clock.hpp"
#include "actors/render_pool.hpp"
#include "certificate/certificate.hpp"
#include "messages/atoms.hpp"
#include "messages/clock.hpp"

namespace kofu {

namespace {

constexpr std::string_view suspended_key = "service/suspended";

bool in_closed_range(const config::closed_range& r, const civil_date& d) {
  auto md = d.month * 100 + d.day;
  auto from = r.from_month * 100 + r.from_day;
  auto to = r.to_month * 100 + r.to_day;
  return from <= to ? (md >= from && md <= to) : (md >= from || md <= to);
}

} // namespace

service_control::service_control(storage::database& db) : db_(db) {
  if (auto v = db_.get(storage::column::meta, suspended_key)) {
    suspended_ = true;
    reason_ = *v;
  }
}

void service_control::suspend(const std::string& reason) {
  std::lock_guard guard(mutex_);
  db_.put(storage::column::meta, suspended_key, reason, true);
  reason_ = reason;
  suspended_ = true;
}

void service_control::resume() {
  std::lock_guard guard(mutex_);
  db_.del(storage::column::meta, suspended_key, true);
  reason_.clear();
  suspended_ = false;
}

std::string service_control::reason() const {
  std::lock_guard guard(mutex_);
  return reason_;
}

node_context::node_context(config::node_config config, std::unique_ptr<storage::database> database)
  : cfg(std::move(config)),
    db(std::move(database)),
    audit_key(db->named_key(storage::audit_key_name)),
    content_key(db->named_key("request-content")),
    certificate_numbers(*db),
    feeds(*db),
    service(*db),
    started_ms(now_ms()),
    clock(&now_ms),
    render(std::make_unique<render_lanes>(render_queue_depth)),
    deadlines(std::make_unique<deadline_clock>([](const caf::strong_actor_ptr& session) {
      caf::anon_send(caf::actor_cast<caf::actor>(session), deadline_atom::value);
    })) {
  // nop
}

node_context::~node_context() = default;

bool node_context::in_service_hours(int64_t epoch_ms) const {
  auto d = jst_date(epoch_ms);
  for (auto& r : cfg.service.closed_dates)
    if (in_closed_range(r, d))
      return false;
  auto minute = jst_minute_of_day(epoch_ms);
  return minute >= cfg.service.open_minute && minute < cfg.service.close_minute;
}

node_context::refusal node_context::service_refusal() const {
  if (service.suspended())
    return {ec::service_suspended, 0};
  if (auto now = clock(); !in_service_hours(now))
    return {ec::service_suspended, static_cast<int>(seconds_until_open(now))};
  return {};
}

std::shared_ptr<session_slot> session_slot::take(node_context_ptr ctx) {
  auto& live = ctx->live_sessions;
  if (live.fetch_add(1) >= ctx->cfg.issuance.sessions_max) {
    live.fetch_sub(1);
    return nullptr;
  }
  return std::shared_ptr<session_slot>(new session_slot(std::move(ctx)));
}

session_slot::~session_slot() {
  ctx_->live_sessions.fetch_sub(1);
}

int64_t node_context::seconds_until_open(int64_t epoch_ms) const {
  if (in_service_hours(epoch_ms))
    return 0;
  // Minute steps over at most a closed period plus a day: closed dates span a few days at most.
  constexpr int64_t minute_ms = 60'000;
  constexpr int64_t search_minutes_max = 40 * 24 * 60;
  auto next = epoch_ms - epoch_ms % minute_ms + minute_ms;
  for (int64_t i = 0; i < search_minutes_max; ++i, next += minute_ms)
    if (in_service_hours(next))
      return std::max<int64_t>(1, (next - epoch_ms + 999) / 1000);
  return 0;
}

bool node_context::in_issuance_window(std::optional<int32_t> open, int32_t year) const {
  return open && year <= *open && year > *open - static_cast<int32_t>(cfg.retention.fiscal_years);
}

std::string node_context::subject_of(std::string_view resident_code) const {
  return storage::to_hex(db->code_mac(resident_code));
}

} // namespace kofu
