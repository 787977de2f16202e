#include "actors/issuance_session.hpp"

#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include "actors/audit_logger.hpp"
#include "actors/render_pool.hpp"
#include "messages/clock.hpp"
#include "storage/keys.hpp"

namespace kofu {

namespace {

using self_ptr = session_actor::stateful_pointer<session_state>;

/// The one certificate type of profile v1.
constexpr std::string_view income_tax_type = "income_tax";

/// The next id of a session's sealed record; unique within a run, and records of older runs are
/// swept at start, so ids may start over.
std::atomic<uint64_t> next_session_id{1};

/// Sets the phase named in audit entries (`detail`, may be longer) and the one the manager shows.
void set_phase(session_state& st, std::string detail, const char* shown) {
  st.phase = std::move(detail);
  st.shown_phase->store(shown, std::memory_order_relaxed);
}

/// An audit entry about this request.
storage::audit_entry entry(const session_state& st, std::string event, std::string outcome) {
  auto e = audit_event("center", std::move(event), std::move(outcome));
  e.request_id = st.request.request_id;
  if (!st.request.resident_code.empty())
    e.subject = st.ctx->subject_of(st.request.resident_code);
  return e;
}

/// Deletes the session's record and wipes what it holds; the session then quits. Waits for a
/// commit under way (its outcome may have to be undone).
void finish(self_ptr self) {
  auto& st = self->state;
  if (st.finished)
    return;
  if (st.awaiting_commit) {
    st.finish_requested = true;
    st.shown_phase->store("finishing", std::memory_order_relaxed);
    return;
  }
  st.finished = true;
  if (st.session_id != 0) {
    try {
      st.ctx->db->del(storage::column::sessions, storage::keys::id(st.session_id), false);
    } catch (const std::exception&) {
      // Swept at the next start.
    }
    st.session_id = 0;
  }
  if (st.deadline)
    st.deadline->cancel();
  wipe(st.resident);
  wipe(st.tax);
  wipe(st.request.resident_code);
  self->quit();
}

/// Hands `response` to every waiter's connection and ends the session: the connection owns the
/// bytes from here and wipes them once written (the session's own copy goes now). Not waiting for
/// the write saves a wake-up of the session per request; the center's answer is the same.
void answer(self_ptr self, net::http_response response, const std::string& code) {
  auto& st = self->state;
  if (st.answered)
    return;
  st.answered = true;
  set_phase(st, "sending", "sending");
  st.ctx->metrics.add("kofu_issuance_requests_total", "code=\"" + code + "\"",
                      st.waiters.size());
  st.ctx->metrics.issuance_duration.observe(static_cast<double>(now_ms() - st.started_ms) / 1e3);
  for (size_t i = 0; i < st.waiters.size(); ++i) {
    auto copy = i + 1 == st.waiters.size() ? std::move(response) : response;
    st.waiters[i]->send(std::move(copy));
  }
  wipe(response.body);
  finish(self);
}

void fail(self_ptr self, ec code, std::string audit_outcome, std::string field = {}) {
  auto& st = self->state;
  if (st.answered)
    return;
  if (code == ec::not_issuable || code == ec::request_conflict || code == ec::year_not_available
      || code == ec::internal_error || code == ec::unrenderable)
    audit_later(self->system(), audit_batch{{entry(st, "refusal", std::move(audit_outcome))}, {}});
  auto retry = code == ec::overloaded ? 1 : 0;
  answer(self, st.codec->encode_error(code, st.request.request_id, field, retry),
         std::string(problem_code(code)));
}

/// The audit entry and the writes that take an aborted issuance's ledger row and request record
/// away.
audit_batch forget_batch(const session_state& st, const std::string& why) {
  auto db = st.ctx->db.get();
  return audit_batch{{entry(st, "issuance_aborted", why)},
                     [db, rid = st.request.request_id, record = st.record](storage::write_batch& b) {
                       storage::add_forget(b, *db, rid, record);
                     }};
}

/// The issuance failed after its ledger row was written: the center gets no certificate, so the
/// row and the request record go (a resend is processed afresh) and the audit says why. The
/// session ends only once the undo is durable: until then the manager holds back a resend or an
/// outcome report of the same request_id, which would otherwise still find the row.
void undo_commit(self_ptr self, const std::string& why) {
  auto& st = self->state;
  st.committed = false;
  auto audit = current_audit(self->system());
  if (!audit)
    return; // no logger to write it: the row stays, as a certificate the center never had
  st.awaiting_commit = true;
  self->request(audit, caf::infinite, append_atom::value, forget_batch(st, why))
    .then(
      [=](uint64_t) {
        self->state.awaiting_commit = false;
        finish(self);
      },
      [=](caf::error&) {
        // The logger went before the undo was durable (it may have been written without its
        // sync): once more to its successor, not waited for.
        self->state.awaiting_commit = false;
        audit_later(self->system(), forget_batch(self->state, why));
        finish(self);
      });
}

/// The eligibility of the resident at one instant; empty when issuable, else the precise reason
/// (audit log only).
std::string ineligibility(self_ptr self, const storage::snapshot& snap) {
  auto& st = self->state;
  auto& db = *st.ctx->db;
  auto resident = db.resident(snap, st.request.resident_code);
  if (!resident)
    return "unknown_resident";
  st.resident = std::move(*resident);
  if (st.resident.status == resident_status::moved_out)
    return "moved_out";
  if (st.resident.status == resident_status::deceased)
    return "deceased";
  if (st.resident.hold == issuance_hold::support_measure)
    return "hold_support_measure";
  if (st.resident.hold == issuance_hold::other)
    return "hold_other";
  if (db.has_hold(snap, st.request.resident_code))
    return "hold_manual";
  auto tax = db.tax(snap, st.record.fiscal_year, st.request.resident_code);
  if (!tax)
    return "no_tax_record";
  st.tax = std::move(*tax);
  if (st.tax.declaration == declaration_kind::not_filed)
    return "not_filed";
  return {};
}

void commit_and_send(self_ptr self, rendered_pdf pdf);

void render(self_ptr self) {
  auto& st = self->state;
  set_phase(st, "rendering", "rendering");
  // Straight to the least busy worker, counted against render.queue_max (render_pool.hpp).
  auto lane = st.ctx->render->take(st.ctx->cfg.render.queue_max);
  if (lane.error == ec::overloaded)
    return fail(self, ec::overloaded, "render queue full");
  if (lane.error != ec::none)
    return fail(self, ec::internal_error, "render pool down");
  render_job job{st.resident, st.tax, st.record.certificate_number, st.record.issue_date};
  auto started = now_ms();
  // The deadline message bounds the wait (no second timer per request: see docs/ARCHITECTURE.md).
  self->request(lane.worker, caf::infinite, render_atom::value, std::move(job))
    .then(
      [=](rendered_pdf& pdf) {
        self->state.ctx->metrics.render_duration.observe(static_cast<double>(now_ms() - started)
                                                         / 1e3);
        commit_and_send(self, std::move(pdf));
      },
      [=](caf::error& err) {
        auto code = error_code(err);
        if (code == ec::overloaded)
          return fail(self, ec::overloaded, "render queue full");
        fail(self, ec::internal_error,
             code == ec::unrenderable ? "unrenderable: " + to_string(err) : "render failed");
      });
}

void commit_and_send(self_ptr self, rendered_pdf pdf) {
  auto& st = self->state;
  if (st.answered)
    return;
  set_phase(st, "committing", "committing");
  const auto digest = pdf.sha256; // the renderer's, taken as it wrote the bytes
  auto e = entry(st, st.redelivery ? "redelivery" : "issuance", "ok");
  e.certificate_number = st.record.certificate_number;
  e.pdf_sha256 = storage::to_hex(digest);
  audit_batch batch{{std::move(e)}, {}};
  if (!st.redelivery) {
    storage::ledger_row row;
    row.request_id = st.request.request_id;
    row.certificate_number = st.record.certificate_number;
    row.certificate_type = st.request.certificate_type;
    row.fiscal_year = st.record.fiscal_year;
    row.issued_at = format_jst(st.record.answered_ms);
    row.store_code = st.request.store_code;
    row.terminal_id = st.request.terminal_id;
    batch.extra = [row, record = st.record](storage::write_batch& b) {
      storage::add_issuance(b, row, record);
    };
  }
  auto audit = current_audit(self->system());
  if (!audit)
    return fail(self, ec::internal_error, "audit down");
  auto shared_pdf = std::make_shared<rendered_pdf>(std::move(pdf));
  // The digest goes into the audit entry and the Repr-Digest header: computed once.
  st.awaiting_commit = true;
  // The commit is waited for even past the deadline, as long as the disk takes: its outcome
  // decides whether to undo it. A logger that dies answers with an error.
  self->request(audit, caf::infinite, append_atom::value, std::move(batch))
    .then(
      [=](uint64_t) {
        auto& st = self->state;
        st.awaiting_commit = false;
        st.committed = !st.redelivery;
        if (st.answered) {
          // The deadline passed, or the connection went, while the write was under way: the
          // center has no certificate.
          if (st.committed)
            undo_commit(self, "aborted during commit");
          finish(self);
          return;
        }
        net::issued_certificate cert{st.request.request_id, st.record.certificate_number,
                                     shared_pdf->pages, std::move(shared_pdf->bytes), digest};
        answer(self, st.codec->encode_certificate(std::move(cert)), "ok");
      },
      [=](caf::error&) {
        auto& st = self->state;
        st.awaiting_commit = false;
        // The group may have been written without its sync: the row goes again, as after a
        // deadline (a write that never landed makes this a no-op but for the audit entry).
        if (!st.redelivery)
          undo_commit(self, "audit commit failed");
        fail(self, ec::internal_error, "audit commit failed");
        finish(self);
      });
}

/// How often the checks start again when the generation their snapshot named was retired meanwhile.
constexpr int checks_attempts_max = 3;

/// Forgets what a failed pass of the checks read, before they start again.
void reset_checks(session_state& st) {
  st.redelivery = false;
  st.record = {};
  wipe(st.resident);
  wipe(st.tax);
  st.resident = {};
  st.tax = {};
}

/// The checks of center-api.md in their order, then the render.
void start(self_ptr self) {
  auto& st = self->state;
  auto& cfg = st.ctx->cfg;
  auto& req = st.request;
  if (req.municipality_code != cfg.node.municipality_code)
    return fail(self, ec::wrong_municipality, "wrong municipality");
  if (req.certificate_type != income_tax_type)
    return fail(self, ec::unsupported_certificate_type, "unsupported type");
  auto snap = st.ctx->db->take_snapshot();
  auto open = st.ctx->db->open_fiscal_year(snap.get());
  st.record.fiscal_year = req.fiscal_year != 0 ? req.fiscal_year : open.value_or(0);
  if (!st.ctx->in_issuance_window(open, st.record.fiscal_year)
      || !st.ctx->db->tax_year_loaded(*snap, st.record.fiscal_year))
    return fail(self, ec::year_not_available, "year not open");
  auto content_mac = storage::to_hex(
    st.ctx->content_key.mac(content_fingerprint(req)));
  if (st.conflict_in_flight)
    return fail(self, ec::request_conflict, "different content in flight");
  if (auto prior = storage::find_request(*st.ctx->db, req.request_id)) {
    auto window_ms = int64_t{cfg.issuance.redelivery_window_s} * 1000;
    if (prior->content_mac != content_mac || prior->outcome != "none"
        || now_ms() - prior->answered_ms > window_ms)
      return fail(self, ec::request_conflict, "request_id reused");
    st.redelivery = true;
    st.record = *prior;
  }
  if (auto why = ineligibility(self, *snap); !why.empty())
    return fail(self, ec::not_issuable, why);
  if (!st.redelivery) {
    st.record.content_mac = content_mac;
    st.record.answered_ms = now_ms();
    st.record.issue_date = jst_date(st.record.answered_ms);
    st.record.ledger_day = yyyymmdd(st.record.issue_date);
    try {
      st.record.certificate_number = st.ctx->certificate_numbers.next(st.record.issue_date);
    } catch (const std::exception&) {
      return fail(self, ec::internal_error, "certificate numbers exhausted or storage failed");
    }
  }
  render(self);
}

} // namespace

session_state::~session_state() {
  if (deadline)
    deadline->cancel();
  wipe(resident);
  wipe(tax);
  wipe(request.resident_code);
}

session_actor::behavior_type issuance_session(session_actor::stateful_pointer<session_state> self,
                                              node_context_ptr ctx,
                                              std::shared_ptr<const net::center_codec> codec,
                                              issuance_request request, responder_ptr reply,
                                              session_slot_ptr slot, bool conflict_in_flight,
                                              session_actor predecessor,
                                              session_phase_ptr shown_phase) {
  auto& st = self->state;
  st.shown_phase = std::move(shown_phase);
  st.shown_phase->store("checking", std::memory_order_relaxed);
  st.ctx = ctx;
  st.slot = std::move(slot);
  st.codec = std::move(codec);
  st.request = std::move(request);
  st.waiters.push_back(reply);
  st.conflict_in_flight = conflict_in_flight;
  st.started_ms = now_ms();
  st.session_key = storage::key256::random();
  st.session_id = next_session_id.fetch_add(1);
  try {
    auto key = storage::keys::id(st.session_id);
    auto sealed = storage::seal(st.session_key, key,
                                st.request.request_id + '\x1f' + st.request.resident_code);
    ctx->db->put(storage::column::sessions, key, sealed, false);
  } catch (const std::exception&) {
    st.session_id = 0;
  }
  auto handle = caf::actor_cast<session_actor>(self);
  st.deadline = ctx->deadlines->arm(
    caf::actor_cast<caf::weak_actor_ptr>(self->ctrl()),
    deadline_clock::clock_type::now() + std::chrono::milliseconds(ctx->cfg.issuance.deadline_ms));
  reply->on_close([handle] { caf::anon_send(handle, closed_atom::value); });
  if (predecessor) {
    // An earlier session of this request_id still ends (it may be undoing its commit): this one
    // starts from what that one left, within its own deadline.
    set_phase(st, "waiting for the previous session of its request_id", "waiting");
    self->set_down_handler([=](caf::down_msg&) { self->send(self, issue_atom::value); });
    self->monitor(predecessor);
  } else {
    self->send(self, issue_atom::value);
  }
  return {
    [=](issue_atom) {
      if (self->state.answered)
        return;
      set_phase(self->state, "checking", "checking");
      // A feed's commit or a rollover may retire the generation this session's snapshot names
      // between the snapshot and the reads: the checks then start again on a new snapshot, which
      // sees the data as it stands now. Nothing was taken before the reads (the certificate
      // number comes after them).
      for (int attempt = 1;; ++attempt) {
        try {
          start(self);
        } catch (const storage::data_key_gone&) {
          if (attempt < checks_attempts_max) {
            self->state.ctx->metrics.add("kofu_issuance_checks_restarted_total", "", 1);
            reset_checks(self->state);
            continue;
          }
          fail(self, ec::internal_error, "storage failure while checking");
        } catch (const std::exception&) {
          fail(self, ec::internal_error, "storage failure while checking");
        }
        break;
      }
    },
    [=](issue_atom, responder_ptr waiter) -> bool {
      auto& st = self->state;
      if (st.answered)
        return false; // too late to share this answer: the manager treats it afresh
      st.waiters.push_back(std::move(waiter));
      return true;
    },
    [=](deadline_atom) {
      auto& st = self->state;
      if (st.answered)
        return;
      if (st.committed)
        undo_commit(self, "deadline passed after commit");
      fail(self, ec::internal_error, "deadline passed while " + st.phase);
    },
    [=](closed_atom) {
      auto& st = self->state;
      if (st.answered)
        return;
      // Only the original connection went away; other waiters still get their answer.
      bool anyone = false;
      for (auto& w : st.waiters)
        anyone = anyone || w->is_open();
      if (anyone)
        return;
      audit_later(self->system(),
                  audit_batch{{entry(st, "issuance_aborted", "connection closed during "
                                                               + st.phase)},
                              {}});
      if (st.committed)
        undo_commit(self, "connection closed after commit");
      st.answered = true;
      finish(self);
    },
  };
}

uint64_t sweep_dead_sessions(node_context& ctx) {
  std::vector<std::string> dead;
  ctx.db->scan(storage::column::sessions, storage::keys::id(0), {},
               [&](std::string_view key, std::string_view) {
                 dead.emplace_back(key);
                 return true;
               });
  if (dead.empty())
    return 0;
  storage::write_batch b(*ctx.db);
  for (auto& k : dead)
    b.del(storage::column::sessions, k);
  audit_before_start(ctx, {audit_event("system", "sessions_swept",
                                       std::to_string(dead.size()) + " sessions of a previous run")},
                     b);
  return dead.size();
}

} // namespace kofu
