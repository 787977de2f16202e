#include "net/admin_routes.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>

#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include <nlohmann/json.hpp>
#include <openssl/crypto.h>

#include "actors/audit_logger.hpp"
#include "actors/catalogue.hpp"
#include "messages/clock.hpp"
#include "messages/error.hpp"
#include "net/problem.hpp"
#include "storage/audit_chain.hpp"
#include "storage/ledger.hpp"

namespace kofu::net {

namespace {

/// The route whose path segment is a resident code.
constexpr const char* holds_pattern = "/admin/v1/holds/*";

using json = nlohmann::json;

constexpr size_t admin_body_bytes_max = 64 * 1024;
constexpr size_t audit_limit_default = 1'000;
constexpr size_t audit_limit_max = 10'000;
constexpr size_t feed_history_max = 200;
constexpr size_t reason_chars_max = 512;
constexpr auto actor_call_timeout = std::chrono::seconds(10);

enum class role_needed { none, viewer, operator_ };

struct caller {
  std::string name;
  config::admin_role role = config::admin_role::viewer;
};

http_response admin_error(ec code, std::string_view detail = {}) {
  return net::problem(code, {{"detail", detail}});
}

http_response json_response(unsigned status, const json& j) {
  http_response r;
  r.status = status;
  r.headers = {{"Content-Type", "application/json"}, {"Cache-Control", "no-store"}};
  r.body = j.dump();
  return r;
}

http_response text_response(unsigned status, std::string content_type, std::string body) {
  http_response r;
  r.status = status;
  r.headers = {{"Content-Type", std::move(content_type)}, {"Cache-Control", "no-store"}};
  r.body = std::move(body);
  return r;
}

http_response no_content() {
  http_response r;
  r.status = 204;
  return r;
}

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2]));
      i += 2;
    } else {
      // '+' stays '+': no value kofu reads has a space, and a time's offset (+09:00) is often
      // sent unencoded.
      out += s[i];
    }
  }
  return out;
}

std::map<std::string, std::string> query_of(std::string_view target) {
  std::map<std::string, std::string> out;
  auto q = target.find('?');
  if (q == std::string_view::npos)
    return out;
  auto rest = target.substr(q + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    auto item = rest.substr(0, amp);
    auto eq = item.find('=');
    out[percent_decode(item.substr(0, eq))] =
      eq == std::string_view::npos ? std::string{} : percent_decode(item.substr(eq + 1));
    if (amp == std::string_view::npos)
      break;
    rest = rest.substr(amp + 1);
  }
  return out;
}

/// The token's entry in the config, compared by hash only.
std::optional<caller> authenticate(const node_context& ctx, const http_request& r) {
  auto auth = r.header("Authorization");
  if (!auth || auth->size() < 8 || !iequals(auth->substr(0, 7), "Bearer "))
    return std::nullopt;
  auto token = auth->substr(7);
  while (!token.empty() && token.front() == ' ')
    token.remove_prefix(1);
  auto hash = storage::to_hex(storage::sha256(token));
  for (auto& t : ctx.cfg.tokens)
    if (CRYPTO_memcmp(t.sha256_hex.data(), hash.data(), hash.size()) == 0)
      return caller{t.name, t.role};
  return std::nullopt;
}

/// The refused request's method and path; a resident code in the path (holds) is written as the
/// route's pattern, and as the keyed hash in `subject`, never as the code.
void audit_refusal(node_context& ctx, const std::string& actor, ec code, const http_request& r,
                   const std::string& pattern, const std::string& wildcard) {
  auto e = audit_event(actor, "admin_refused", std::string(problem_code(code)));
  if (pattern == holds_pattern) {
    e.detail = r.method + " " + pattern;
    e.subject = ctx.subject_of(wildcard);
  } else {
    e.detail = r.method + " " + std::string(path_of(r.target));
  }
  audit_later(*ctx.system, audit_batch{{std::move(e)}, {}});
}

/// An operator action that was refused or failed after its caller was authorised (400, 404, 409,
/// 500): admin-api.md audits every operator action. The problem's code is the outcome; its detail
/// (never personal data) follows the method and path, a hold's code written as for a refusal.
void audit_failed_action(node_context& ctx, const caller& who, const http_request& r,
                         const std::string& pattern, const std::string& wildcard,
                         const http_response& answer) {
  auto problem = json::parse(answer.body, nullptr, false);
  auto code = problem.is_object() ? problem.value("code", "") : "";
  auto e = audit_event(who.name, "admin_failed",
                       code.empty() ? std::to_string(answer.status) : code);
  e.detail = r.method + " " + (pattern == holds_pattern ? pattern : std::string(path_of(r.target)));
  if (pattern == holds_pattern)
    e.subject = ctx.subject_of(wildcard);
  if (problem.is_object() && problem.contains("detail") && problem["detail"].is_string()
      && !problem["detail"].get_ref<const std::string&>().empty())
    e.detail += ": " + problem["detail"].get<std::string>();
  audit_later(*ctx.system, audit_batch{{std::move(e)}, {}});
}

void audit_action(node_context& ctx, const caller& who, const std::string& event,
                  const std::string& outcome, const std::string& detail = {}) {
  auto e = audit_event(who.name, event, outcome);
  e.detail = detail;
  audit_later(*ctx.system, audit_batch{{std::move(e)}, {}});
}

/// The role a route needs; nullopt for an unknown route.
struct route {
  std::string method;
  std::string pattern; // "*" matches one path segment
  role_needed role;
};

const std::vector<route>& routes() {
  static const std::vector<route> table = {
    {"GET", "/healthz", role_needed::none},
    {"GET", "/readyz", role_needed::none},
    {"GET", "/metrics", role_needed::viewer},
    {"GET", "/admin/v1/status", role_needed::viewer},
    {"POST", "/admin/v1/feeds", role_needed::operator_},
    {"GET", "/admin/v1/feeds", role_needed::viewer},
    {"GET", "/admin/v1/feeds/*", role_needed::viewer},
    {"POST", "/admin/v1/rollover", role_needed::operator_},
    {"POST", "/admin/v1/service/suspend", role_needed::operator_},
    {"POST", "/admin/v1/service/resume", role_needed::operator_},
    {"PUT", holds_pattern, role_needed::operator_},
    {"DELETE", holds_pattern, role_needed::operator_},
    {"GET", "/admin/v1/ledger", role_needed::viewer},
    {"GET", "/admin/v1/audit", role_needed::viewer},
    {"GET", "/admin/v1/audit/verify", role_needed::viewer},
    {"GET", "/admin/v1/sessions", role_needed::viewer},
    {"GET", "/admin/v1/sample-certificate", role_needed::viewer},
  };
  return table;
}

bool matches(std::string_view pattern, std::string_view path, std::string& wildcard) {
  auto star = pattern.find('*');
  if (star == std::string_view::npos)
    return pattern == path;
  if (path.size() <= star || path.substr(0, star) != pattern.substr(0, star))
    return false;
  auto rest = path.substr(star);
  if (rest.find('/') != std::string_view::npos)
    return false;
  wildcard = percent_decode(rest);
  return true;
}

struct resolved {
  const route* r = nullptr;
  bool path_known = false;
  std::string wildcard;
  std::string allowed; // the path's methods, for a 405's Allow header ("GET, POST")
};

resolved resolve(const http_request& req) {
  resolved out;
  auto path = path_of(req.target);
  for (auto& r : routes()) {
    std::string w;
    if (!matches(r.pattern, path, w))
      continue;
    out.path_known = true;
    if (out.allowed.find(r.method) == std::string::npos)
      out.allowed += (out.allowed.empty() ? "" : ", ") + r.method;
    if (r.method == req.method) {
      out.r = &r;
      out.wildcard = w;
      return out;
    }
  }
  return out;
}

/// Authentication and role: nullopt with `refusal` set when refused.
std::optional<caller> admit(node_context& ctx, const http_request& req, const resolved& res,
                            http_response& refusal) {
  if (res.r->role == role_needed::none)
    return caller{"anonymous", config::admin_role::viewer};
  auto who = authenticate(ctx, req);
  if (!who) {
    audit_refusal(ctx, "unknown", ec::unauthorized, req, res.r->pattern, res.wildcard);
    refusal = admin_error(ec::unauthorized);
    return std::nullopt;
  }
  if (res.r->role == role_needed::operator_ && who->role != config::admin_role::operator_) {
    audit_refusal(ctx, who->name, ec::forbidden, req, res.r->pattern, res.wildcard);
    refusal = admin_error(ec::forbidden);
    return std::nullopt;
  }
  return who;
}

std::vector<int32_t> open_years(const node_context& ctx) {
  std::vector<int32_t> out;
  auto open = ctx.db->open_fiscal_year();
  if (!open)
    return out;
  for (auto y : ctx.db->loaded_tax_years())
    if (ctx.in_issuance_window(open, y))
      out.push_back(y);
  return out;
}

bool actors_up(const node_context& ctx, std::vector<std::string>& missing) {
  auto& reg = ctx.system->registry();
  using named = std::pair<const char*, caf::atom_value>;
  for (auto [name, atom] : {named{"audit_logger", audit_name::value},
                            named{"render_pool", render_name::value},
                            named{"issuance_manager", issuance_name::value},
                            named{"feed_ingestor", feeds_name::value},
                            named{"deletion_timer", timer_name::value}})
    if (!reg.get(atom))
      missing.push_back(std::string(name) + " is not running");
  return missing.empty();
}

json feed_json(const feed_status& s) {
  return json::parse(to_json(s));
}

// -- endpoints that answer synchronously (run inside a request actor) ---------------------------

http_response readyz(node_context& ctx) {
  std::vector<std::string> reasons;
  actors_up(ctx, reasons);
  // Storage is open when it answers a read (the open years are one).
  try {
    if (open_years(ctx).empty())
      reasons.push_back("no fiscal year is open for issuance");
  } catch (const std::exception&) {
    reasons.push_back("storage cannot be read");
  }
  if (reasons.empty())
    return json_response(200, {{"ready", true}});
  return json_response(503, {{"ready", false}, {"reasons", reasons}});
}

http_response status(node_context& ctx) {
  // admin-api.md: "last feed of each kind", whatever became of it (a rejection shows); and the
  // last one applied, which the data stands on.
  json last = json::object();
  json applied = json::object();
  for (auto kind : {"residents", "tax"}) {
    auto f = ctx.feeds.last_of(kind);
    last[kind] = f ? feed_json(*f) : json(nullptr);
    auto a = ctx.feeds.last_applied(kind);
    applied[kind] = a ? feed_json(*a) : json(nullptr);
  }
  json tax_counts = json::object();
  for (auto y : ctx.db->loaded_tax_years())
    tax_counts[std::to_string(y)] = ctx.db->record_count(storage::dataset::tax, y);
  uint64_t storage_bytes = 0;
  for (auto& [cf, bytes] : ctx.db->sizes())
    storage_bytes += bytes;
  return json_response(
    200, {{"version", "0.1.0"},
          {"uptime_s", (now_ms() - ctx.started_ms) / 1000},
          {"open_fiscal_years", open_years(ctx)},
          {"residents", ctx.db->record_count(storage::dataset::residents, std::nullopt)},
          {"tax_records", tax_counts},
          {"last_feeds", last},
          {"last_applied_feeds", applied},
          {"live_sessions", ctx.live_sessions.load()},
          {"service", {{"suspended", ctx.service.suspended()},
                       {"reason", ctx.service.reason()},
                       {"in_hours", ctx.in_service_hours(ctx.clock())}}},
          {"storage_bytes", storage_bytes}});
}

http_response metrics(node_context& ctx) {
  return text_response(200, "text/plain; version=0.0.4; charset=utf-8", ctx.metrics.render());
}

std::optional<json> body_json(const http_request& req) {
  auto j = json::parse(req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return std::nullopt;
  return j;
}

std::optional<std::string> reason_of(const http_request& req) {
  auto j = body_json(req);
  if (!j)
    return std::nullopt;
  auto i = j->find("reason");
  if (i == j->end() || !i->is_string())
    return std::nullopt;
  // Characters, not bytes: a Japanese reason takes 3 bytes a character. (nlohmann has checked
  // the UTF-8: every character starts with exactly one byte that is not a continuation byte.)
  auto& text = i->get_ref<const std::string&>();
  auto chars = std::count_if(text.begin(), text.end(),
                             [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
  if (static_cast<size_t>(chars) > reason_chars_max)
    return std::nullopt;
  return i->get<std::string>();
}

http_response feeds_from_inbox(node_context& ctx, const caller& who, const http_request& req) {
  auto j = body_json(req);
  if (!j || !j->contains("path") || !(*j)["path"].is_string())
    return admin_error(ec::bad_request, "expected {\"path\": \"<file name in the inbox>\"}");
  auto name = (*j)["path"].get<std::string>();
  auto& inbox = ctx.cfg.feeds.inbox_dir;
  if (inbox.empty())
    return admin_error(ec::conflict, "no inbox folder is configured");
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
    return admin_error(ec::bad_request, "path must name a file in the inbox folder");
  auto full = inbox + "/" + name;
  std::error_code e;
  if (!std::filesystem::is_regular_file(full, e))
    return admin_error(ec::not_found, "no such file in the inbox folder");
  auto id = ctx.feeds.create("inbox", who.name);
  auto ingestor = caf::actor_cast<feed_actor>(ctx.system->registry().get(feeds_name::value));
  if (!ingestor)
    return admin_error(ec::internal_error, "feed ingestion is not running");
  caf::anon_send(ingestor, ingest_atom::value, feed_job{id, full, who.name});
  audit_action(ctx, who, "feed_submitted", "ok", "feed " + std::to_string(id) + " from inbox");
  return json_response(202, {{"feed_id", id}});
}

http_response feeds_list(node_context& ctx) {
  auto list = json::array();
  for (auto& s : ctx.feeds.history(feed_history_max))
    list.push_back(feed_json(s));
  return json_response(200, {{"feeds", list}});
}

http_response feed_one(node_context& ctx, const std::string& id_text) {
  uint64_t id = 0;
  auto [end, errc] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
  if (errc != std::errc{} || end != id_text.data() + id_text.size())
    return admin_error(ec::not_found);
  auto s = ctx.feeds.get(id);
  if (!s)
    return admin_error(ec::not_found);
  return json_response(200, feed_json(*s));
}

http_response rollover(node_context& ctx, const caller& who, const http_request& req) {
  auto j = body_json(req);
  if (!j || !j->contains("fiscal_year") || !(*j)["fiscal_year"].is_number_integer())
    return admin_error(ec::bad_request, "expected {\"fiscal_year\": <year>}");
  auto year = (*j)["fiscal_year"].get<int64_t>();
  if (year < 1989 || year > 9999)
    return admin_error(ec::bad_request, "fiscal_year out of range");
  auto y = static_cast<int32_t>(year);
  auto loaded = ctx.db->loaded_tax_years();
  // A refusal is audited by serve(), as every failed operator action.
  if (std::find(loaded.begin(), loaded.end(), y) == loaded.end())
    return admin_error(ec::conflict,
                       "no tax feed is loaded for fiscal year " + std::to_string(y));
  auto open = ctx.db->open_fiscal_year();
  if (open && y < *open)
    return admin_error(ec::conflict, "fiscal year " + std::to_string(y)
                                       + " is earlier than the year open now ("
                                       + std::to_string(*open) + ")");
  auto started = now_ms();
  auto result = ctx.db->rollover(y, ctx.cfg.retention.fiscal_years);
  auto duration = now_ms() - started;
  json destroyed = json::object();
  std::string detail = "opened " + std::to_string(y);
  for (auto& [year_destroyed, n] : result.destroyed) {
    destroyed[std::to_string(year_destroyed)] = n;
    detail += "; destroyed " + std::to_string(year_destroyed) + ": " + std::to_string(n)
              + " records";
  }
  // Everything the answer needs is read before the action is audited as done.
  auto answer = json_response(200, {{"fiscal_year", y},
                                    {"open_years", open_years(ctx)},
                                    {"destroyed", destroyed},
                                    {"duration_ms", duration}});
  audit_action(ctx, who, "rollover", "ok", detail);
  return answer;
}

http_response suspend(node_context& ctx, const caller& who, const http_request& req) {
  auto reason = reason_of(req);
  if (!reason)
    return admin_error(ec::bad_request, "expected {\"reason\": \"...\"}");
  ctx.service.suspend(*reason);
  ctx.metrics.set("kofu_service_suspended", "", 1);
  audit_action(ctx, who, "service_suspended", "ok");
  return no_content();
}

http_response resume(node_context& ctx, const caller& who) {
  ctx.service.resume();
  ctx.metrics.set("kofu_service_suspended", "", 0);
  audit_action(ctx, who, "service_resumed", "ok");
  return no_content();
}

http_response hold_put(node_context& ctx, const caller& who, const std::string& code,
                       const http_request& req) {
  if (!is_resident_code(code))
    return admin_error(ec::bad_request, "resident_code must be 11 digits");
  auto reason = reason_of(req);
  if (!reason)
    return admin_error(ec::bad_request, "expected {\"reason\": \"...\"}");
  ctx.db->set_hold(code, *reason);
  auto e = audit_event(who.name, "hold_set", "ok");
  e.subject = ctx.subject_of(code);
  audit_later(*ctx.system, audit_batch{{std::move(e)}, {}});
  return no_content();
}

http_response hold_delete(node_context& ctx, const caller& who, const std::string& code) {
  if (!is_resident_code(code))
    return admin_error(ec::bad_request, "resident_code must be 11 digits");
  if (!ctx.db->lift_hold(code))
    return admin_error(ec::not_found, "no manual hold for that resident");
  auto e = audit_event(who.name, "hold_lifted", "ok");
  e.subject = ctx.subject_of(code);
  audit_later(*ctx.system, audit_batch{{std::move(e)}, {}});
  return no_content();
}

http_response ledger(node_context& ctx, const http_request& req) {
  auto q = query_of(req.target);
  // Without a date: today in the service's time zone.
  auto day = q["date"].empty() ? std::optional(jst_date(ctx.clock())) : parse_civil_date(q["date"]);
  if (!day)
    return admin_error(ec::bad_request, "date must be YYYY-MM-DD");
  auto rows = storage::ledger_day(*ctx.db, *day);
  if (q["format"] == "csv")
    return text_response(200, "text/csv; charset=utf-8", storage::ledger_csv(rows));
  if (!q["format"].empty() && q["format"] != "json")
    return admin_error(ec::bad_request, "format must be json or csv");
  return text_response(200, "application/json", storage::ledger_json(*day, rows));
}

/// `from`/`to` as RFC 3339 or a date; compared as JST text.
/// A query bound as stored time text. A date names its whole day (JST): `from` its start, `to` the
/// start of the next day (the bound is exclusive), so from=D&to=D is the day D.
std::optional<std::string> audit_bound(const std::string& v, bool end) {
  constexpr int64_t day_ms = 86'400'000;
  if (v.empty())
    return std::string{};
  if (auto ms = jst_day_start_ms(v))
    return format_jst(*ms + (end ? day_ms : 0));
  // Stored times are JST text, which sorts as time: bring any offset to it.
  if (auto ms = parse_rfc3339_ms(v))
    return format_jst(*ms);
  return std::nullopt;
}

http_response audit(node_context& ctx, const http_request& req) {
  auto q = query_of(req.target);
  auto from = audit_bound(q["from"], false);
  auto to = audit_bound(q["to"], true);
  if (!from || !to)
    return admin_error(ec::bad_request, "from and to must be dates or RFC 3339 times");
  size_t limit = audit_limit_default;
  if (!q["limit"].empty()) {
    auto& l = q["limit"];
    auto [end, errc] = std::from_chars(l.data(), l.data() + l.size(), limit);
    if (errc != std::errc{} || end != l.data() + l.size() || limit == 0 || limit > audit_limit_max)
      return admin_error(ec::bad_request, "limit must be 1 to 10000");
  }
  auto entries = json::array();
  for (auto& e : storage::query_audit(*ctx.db, *from, *to, q["request_id"], limit))
    entries.push_back(json::parse(storage::to_json(e)));
  return json_response(200, {{"entries", entries}});
}

http_response audit_verify(node_context& ctx) {
  auto r = storage::verify_chain(*ctx.db, ctx.audit_key);
  if (r.ok)
    return json_response(200, {{"ok", true}, {"entries", r.entries}});
  return json_response(200, {{"ok", false},
                             {"entries", r.entries},
                             {"failed_seq", r.failed_seq},
                             {"reason", r.reason}});
}

/// Runs one admin request inside its own actor (off the I/O thread).
void serve(caf::event_based_actor* self, node_context_ptr ctx, caller who, resolved res,
           http_request req, std::shared_ptr<responder> reply) {
  auto& c = *ctx;
  auto path = std::string(path_of(req.target));
  auto done = [=](http_response r) {
    if (res.r->role == role_needed::operator_ && r.status >= 400)
      audit_failed_action(*ctx, who, req, res.r->pattern, res.wildcard, r);
    reply->send(std::move(r));
    self->quit();
  };
  try {
    auto& p = res.r->pattern;
    if (p == "/readyz")
      return done(readyz(c));
    if (p == "/metrics")
      return done(metrics(c));
    if (p == "/admin/v1/status")
      return done(status(c));
    if (p == "/admin/v1/feeds" && req.method == "POST")
      return done(feeds_from_inbox(c, who, req));
    if (p == "/admin/v1/feeds")
      return done(feeds_list(c));
    if (p == "/admin/v1/feeds/*")
      return done(feed_one(c, res.wildcard));
    if (p == "/admin/v1/rollover")
      return done(rollover(c, who, req));
    if (p == "/admin/v1/service/suspend")
      return done(suspend(c, who, req));
    if (p == "/admin/v1/service/resume")
      return done(resume(c, who));
    if (p == holds_pattern && req.method == "PUT")
      return done(hold_put(c, who, res.wildcard, req));
    if (p == holds_pattern)
      return done(hold_delete(c, who, res.wildcard));
    if (p == "/admin/v1/ledger")
      return done(ledger(c, req));
    if (p == "/admin/v1/audit")
      return done(audit(c, req));
    if (p == "/admin/v1/audit/verify")
      return done(audit_verify(c));
    if (p == "/admin/v1/sessions") {
      auto mgr = caf::actor_cast<issuance_actor>(c.system->registry().get(issuance_name::value));
      if (!mgr)
        return done(admin_error(ec::internal_error, "issuance manager is not running"));
      self->request(mgr, actor_call_timeout, status_atom::value)
        .then(
          [=](std::vector<session_info>& live) {
            auto now = now_ms();
            uint64_t young = 0, old = 0;
            int64_t oldest_ms = 0;
            json by_state = json::object();
            for (auto& s : live) {
              by_state[s.state] = by_state.value(s.state, 0) + 1;
              auto age = now - s.started_ms;
              (age < 1000 ? young : old) += 1;
              oldest_ms = std::max(oldest_ms, age);
            }
            done(json_response(200, {{"count", live.size()},
                                      {"by_state", by_state},
                                      {"by_age", {{"under_1s", young}, {"over_1s", old}}},
                                      {"oldest_ms", oldest_ms}}));
          },
          [=](caf::error&) { done(admin_error(ec::internal_error)); });
      return;
    }
    if (p == "/admin/v1/sample-certificate") {
      auto pool = caf::actor_cast<render_actor>(c.system->registry().get(render_name::value));
      if (!pool)
        return done(admin_error(ec::internal_error, "render pool is not running"));
      self->request(pool, actor_call_timeout, sample_atom::value)
        .then(
          [=](rendered_pdf& pdf) {
            http_response r;
            r.status = 200;
            r.headers = {{"Content-Type", "application/pdf"}, {"Cache-Control", "no-store"}};
            r.body.assign(pdf.bytes.view());
            done(std::move(r));
          },
          [=](caf::error&) { done(admin_error(ec::internal_error, "rendering the sample failed")); });
      return;
    }
    done(admin_error(ec::not_found));
  } catch (const std::exception&) {
    done(admin_error(ec::internal_error));
  }
}

/// Streams an uploaded feed to the ingestion actor, chunk by chunk.
std::shared_ptr<chunk_sink> upload_sink(node_context_ptr ctx, uint64_t feed_id) {
  auto sink = std::make_shared<chunk_sink>();
  auto ingestor = [ctx] {
    return caf::actor_cast<feed_actor>(ctx->system->registry().get(feeds_name::value));
  };
  sink->on_chunk = [ingestor, feed_id](std::string_view data, bool last,
                                       std::function<void()> resume) {
    auto a = ingestor();
    if (!a) {
      resume();
      return;
    }
    caf::anon_send(a, chunk_atom::value,
                   feed_chunk{feed_id, std::string(data), last, false, std::move(resume)});
  };
  sink->on_abort = [ingestor, feed_id](std::string_view) {
    if (auto a = ingestor())
      caf::anon_send(a, chunk_atom::value, feed_chunk{feed_id, {}, false, true, {}});
  };
  return sink;
}

} // namespace

http_server::route_policy admin_policy(node_context_ptr ctx) {
  return [ctx](const http_request& head) -> body_policy {
    auto res = resolve(head);
    if (!res.r)
      return body_policy::buffer(admin_body_bytes_max);
    bool upload = res.r->pattern == "/admin/v1/feeds" && head.method == "POST";
    auto ct = head.header("Content-Type");
    bool json_body = ct && iequals(ct->substr(0, ct->find(';')), "application/json");
    if (!upload || json_body)
      return body_policy::buffer(admin_body_bytes_max);
    http_response refusal;
    auto who = admit(*ctx, head, res, refusal);
    if (!who)
      return body_policy::reject(std::move(refusal));
    auto id = ctx->feeds.create("upload", who->name);
    auto ingestor = caf::actor_cast<feed_actor>(ctx->system->registry().get(feeds_name::value));
    if (!ingestor) {
      auto failed = admin_error(ec::internal_error, "feed ingestion is not running");
      audit_failed_action(*ctx, *who, head, res.r->pattern, res.wildcard, failed);
      return body_policy::reject(std::move(failed));
    }
    caf::anon_send(ingestor, ingest_atom::value, feed_job{id, {}, who->name});
    audit_action(*ctx, *who, "feed_submitted", "ok", "feed " + std::to_string(id) + " upload");
    // The handler learns the id through the request's route context.
    return body_policy::stream(upload_sink(ctx, id), ctx->cfg.admin.feed_upload_bytes_max,
                               std::to_string(id));
  };
}

http_server::handler admin_handler(node_context_ptr ctx) {
  return [ctx](http_request req, responder reply) {
    auto res = resolve(req);
    if (!res.r) {
      auto r = admin_error(res.path_known ? ec::method_not_allowed : ec::not_found);
      if (res.path_known)
        r.headers.push_back({"Allow", res.allowed});
      return void(reply.send(std::move(r)));
    }
    if (res.r->pattern == "/healthz")
      return void(reply.send(text_response(200, "text/plain", "ok")));
    if (!req.route_context.empty() && res.r->pattern == "/admin/v1/feeds"
        && req.method == "POST") {
      // A streamed upload: the body went to the ingestion actor already.
      return void(reply.send(json_response(202, {{"feed_id", std::stoull(req.route_context)}})));
    }
    http_response refusal;
    auto who = admit(*ctx, req, res, refusal);
    if (!who)
      return void(reply.send(std::move(refusal)));
    auto shared = std::make_shared<responder>(std::move(reply));
    ctx->system->spawn<caf::detached>(serve, ctx, *who, res, std::move(req), shared);
  };
}

} // namespace kofu::net
