#include "actors/issuance_manager.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include "actors/audit_logger.hpp"
#include "actors/issuance_session.hpp"
#include "messages/clock.hpp"
#include "storage/ledger.hpp"

namespace kofu {

namespace {

using self_ptr = issuance_actor::stateful_pointer<issuance_manager_state>;

/// How long the manager waits for a running session to take a repeated request.
constexpr auto attach_timeout = std::chrono::seconds(1);

void refuse(self_ptr self, const responder_ptr& reply, ec code, const std::string& request_id,
            int retry_after_s) {
  auto& st = self->state;
  st.ctx->metrics.add("kofu_issuance_requests_total",
                      "code=\"" + std::string(problem_code(code)) + "\"");
  reply->send(st.codec->encode_error(code, request_id, {}, retry_after_s));
}

/// `predecessor`: a session of the same request_id that answered but has not ended; the new one
/// starts after it (issuance_session.hpp).
void spawn_session(self_ptr self, issuance_request req, responder_ptr reply,
                   session_slot_ptr slot, bool conflict, session_actor predecessor = {}) {
  auto& st = self->state;
  auto fingerprint = content_fingerprint(req);
  auto id = req.request_id;
  auto phase = std::make_shared<std::atomic<const char*>>("checking");
  auto session = self->spawn(issuance_session, st.ctx, st.codec, std::move(req), reply,
                             std::move(slot), conflict, std::move(predecessor), phase);
  self->monitor(session);
  if (!conflict) {
    st.sessions[id] = {session, fingerprint, now_ms(), reply, phase};
    st.by_addr[session.address()] = id;
  }
}

/// `slot` was taken on the I/O thread; it goes with the request's session, or back when the
/// request is refused or joins the session of the same request.
void issue(self_ptr self, issuance_request req, responder_ptr reply, session_slot_ptr slot) {
  auto& st = self->state;
  auto& ctx = *st.ctx;
  // Checked again here (the route checked on the I/O thread): a suspension since counts.
  if (auto no = ctx.service_refusal(); no.code != ec::none)
    return refuse(self, reply, no.code, req.request_id, no.retry_after_s);
  auto i = st.sessions.find(req.request_id);
  if (i == st.sessions.end())
    return spawn_session(self, std::move(req), std::move(reply), std::move(slot), false);
  if (i->second.fingerprint != content_fingerprint(req)) {
    // A first request that was answered already (its session is only finishing) is no longer in
    // flight: a refused request_id is processed afresh, a certificate's is refused by its record.
    bool in_flight = !i->second.reply || i->second.reply->is_open();
    if (in_flight)
      return spawn_session(self, std::move(req), std::move(reply), std::move(slot), true);
    return spawn_session(self, std::move(req), std::move(reply), std::move(slot), false,
                         i->second.session);
  }
  // The same request while the first is in flight: it waits for the first's answer, and its slot
  // is kept until then (a session of its own may still be needed).
  auto session = i->second.session;
  // Too late to join (the first has answered or ended): a session of its own, after the first's
  // end, unless another repeat has started one meanwhile, which it joins instead.
  auto own = [=](issuance_request& req, responder_ptr& reply, session_slot_ptr& slot) {
    auto& st = self->state;
    auto k = st.sessions.find(req.request_id);
    if (k == st.sessions.end() || k->second.session.address() != session.address())
      return issue(self, std::move(req), std::move(reply), std::move(slot));
    spawn_session(self, std::move(req), std::move(reply), std::move(slot), false, session);
  };
  self->request(session, attach_timeout, issue_atom::value, reply)
    .then(
      [=](bool joined) mutable {
        if (!joined)
          own(req, reply, slot);
      },
      [=](caf::error&) mutable { own(req, reply, slot); });
}

void next_outcome(self_ptr self, const std::string& request_id);

/// Handles the report at the front of its request's queue; next_outcome() runs the next one.
void report_outcome(self_ptr self, const outcome_report& report, const responder_ptr& reply) {
  auto& st = self->state;
  auto finish = [self, id = report.request_id] { next_outcome(self, id); };
  auto& codec = *st.codec;
  std::optional<storage::request_record> record;
  try {
    record = storage::find_request(*st.ctx->db, report.request_id);
  } catch (const std::exception&) {
    reply->send(codec.encode_error(ec::internal_error, report.request_id));
    return finish();
  }
  if (!record) {
    reply->send(codec.encode_error(ec::unknown_request, report.request_id));
    return finish();
  }
  if (record->outcome == report.outcome) {
    reply->send(codec.encode_no_content());
    return finish();
  }
  if (record->outcome != "none") {
    reply->send(codec.encode_error(ec::outcome_conflict, report.request_id));
    return finish();
  }
  auto e = audit_event("center", "outcome", report.outcome);
  e.request_id = report.request_id;
  e.certificate_number = record->certificate_number;
  auto db = st.ctx->db.get();
  audit_batch batch{{std::move(e)},
                    [db, report, rec = *record](storage::write_batch& b) {
                      storage::add_outcome(b, *db, report.request_id, rec, report.outcome);
                    }};
  auto audit = current_audit(self->system());
  if (!audit) {
    reply->send(codec.encode_error(ec::internal_error, report.request_id));
    return finish();
  }
  auto codec_ptr = st.codec;
  self->request(audit, std::chrono::seconds(10), append_atom::value, std::move(batch))
    .then(
      [=](uint64_t) {
        reply->send(codec_ptr->encode_no_content());
        finish();
      },
      [=](caf::error&) {
        reply->send(codec_ptr->encode_error(ec::internal_error, report.request_id));
        finish();
      });
}

void next_outcome(self_ptr self, const std::string& request_id) {
  auto& queues = self->state.outcomes;
  auto i = queues.find(request_id);
  if (i == queues.end())
    return;
  i->second.pop_front();
  if (i->second.empty()) {
    queues.erase(i);
    return;
  }
  auto [report, reply] = i->second.front();
  report_outcome(self, report, reply);
}

/// A session of the request_id still runs: its report waits for the session's end (down handler),
/// since until then the request may yet be answered with a certificate, or its commit undone.
void enqueue_outcome(self_ptr self, outcome_report report, responder_ptr reply) {
  auto& st = self->state;
  auto& queue = st.outcomes[report.request_id];
  queue.emplace_back(report, reply);
  if (queue.size() > 1)
    return;
  if (st.sessions.count(report.request_id) != 0) {
    st.outcomes_waiting.insert(report.request_id);
    return;
  }
  report_outcome(self, report, reply);
}

} // namespace

issuance_actor::behavior_type
issuance_manager(issuance_actor::stateful_pointer<issuance_manager_state> self,
                 node_context_ptr ctx, std::shared_ptr<const net::center_codec> codec) {
  self->state.ctx = std::move(ctx);
  self->state.codec = std::move(codec);
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    auto i = st.by_addr.find(dm.source);
    if (i == st.by_addr.end())
      return;
    auto id = std::move(i->second);
    st.by_addr.erase(i);
    auto j = st.sessions.find(id);
    if (j == st.sessions.end() || j->second.session.address() != dm.source)
      return; // a later session of the request_id runs: it starts after this one
    st.sessions.erase(j);
    if (st.outcomes_waiting.erase(id) != 0) {
      auto [report, reply] = st.outcomes.at(id).front();
      report_outcome(self, report, reply);
    }
  });
  return {
    [=](issue_atom, issuance_request& req, responder_ptr& reply, session_slot_ptr& slot) {
      issue(self, std::move(req), std::move(reply), std::move(slot));
    },
    [=](outcome_atom, outcome_report& report, responder_ptr& reply) {
      enqueue_outcome(self, std::move(report), std::move(reply));
    },
    [=](status_atom) -> std::vector<session_info> {
      std::vector<session_info> out;
      // A session replaced in the map by a later one of its request_id is not counted: it only
      // finishes (rare, and gone within its commit's time).
      for (auto& [id, s] : self->state.sessions)
        out.push_back({s.phase->load(std::memory_order_relaxed), s.started_ms});
      return out;
    },
  };
}

} // namespace kofu
