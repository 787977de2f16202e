#include "actors/feed_load.hpp"

#include "messages/clock.hpp"

namespace kofu {

namespace {

/// Progress is published every this many records.
constexpr uint64_t progress_every_records = 10'000;
/// Departed residents one feed may report for deletion (32 bytes each: 128 MiB at most), four
/// times a city of a million residents; past it the feed is rejected, nothing applied.
constexpr size_t departed_max = 4'000'000;

std::string kind_name(feed::feed_kind k) {
  return k == feed::feed_kind::residents ? "residents" : "tax";
}

} // namespace

feed_load::feed_load(node_context& ctx, uint64_t feed_id)
  : ctx_(ctx),
    id_(feed_id),
    parser_(feed::parser_options{ctx.cfg.node.municipality_code, jst_date(ctx.clock())}, *this),
    today_(jst_date(ctx.clock())) {
  ctx_.feeds.update(
    id_,
    [&](feed_status& s) {
      s.state = "parsing";
      s.started_at = format_jst(now_ms());
    },
    true);
}

feed_load::~feed_load() {
  if (!done_)
    abort("interrupted");
}

void feed_load::feed(std::string_view chunk) {
  parser_.feed(chunk);
  progress();
}

void feed_load::progress() {
  auto seen = parser_.records_seen();
  if (seen - last_progress_ < progress_every_records)
    return;
  last_progress_ = seen;
  ctx_.feeds.update(id_, [&](feed_status& s) { s.records_done = seen; }, false);
}

void feed_load::on_header(const feed::feed_header& h) {
  ctx_.feeds.update(
    id_,
    [&](feed_status& s) {
      s.kind = kind_name(h.kind);
      s.mode = h.mode == feed::feed_mode::full ? "full" : "delta";
      s.fiscal_year = h.fiscal_year.value_or(0);
      s.sequence = h.sequence;
    },
    true);
  auto set = h.kind == feed::feed_kind::residents ? storage::dataset::residents
                                                  : storage::dataset::tax;
  auto last = ctx_.db->last_sequence(set, h.fiscal_year);
  if (h.sequence <= last) {
    parser_.add_error({1, "", "stale feed: sequence " + std::to_string(h.sequence)
                                + " is not above the last applied " + std::to_string(last)});
    return;
  }
  // Checked again at the commit, in step with a rollover (storage::database::rollover).
  if (auto from = ctx_.db->tax_kept_from(); from && h.fiscal_year && *h.fiscal_year < *from) {
    parser_.add_error({1, "", storage::year_not_kept_message(*h.fiscal_year, *from)});
    return;
  }
  try {
    stage_ = ctx_.db->begin_feed(set, h.fiscal_year, h.mode == feed::feed_mode::full, h.sequence);
  } catch (const std::exception& e) {
    parser_.add_error({1, "", std::string("cannot stage the feed: ") + e.what()});
  }
}

void feed_load::on_resident(feed::record_op op, resident_record&& r) {
  if (!stage_)
    return;
  bool departed = r.status != resident_status::active && r.status_date
                  && storage::departure_due(*r.status_date, ctx_.cfg.retention.resident_days,
                                            today_);
  try {
    if (op == feed::record_op::remove || departed) {
      // A full feed simply leaves them out of the new generation; a delta deletes them.
      if (parser_.header()->mode == feed::feed_mode::delta)
        stage_->remove(r.resident_code);
      if (departed && departed_ < departed_max) {
        stage_->departed(ctx_.db->code_mac(r.resident_code));
        ++departed_;
      } else if (departed && !too_many_departed_) {
        too_many_departed_ = true;
        parser_.add_error({parser_.records_seen() + 2, "status",
                           "more than " + std::to_string(departed_max)
                             + " residents who left in one feed"});
      }
    } else {
      stage_->put(r);
    }
  } catch (const std::exception& e) {
    parser_.add_error({parser_.records_seen() + 2, "", std::string("storage failed while staging: ")
                                                          + e.what()});
  }
  wipe(r);
}

void feed_load::on_tax(feed::record_op op, tax_record&& t) {
  if (!stage_)
    return;
  try {
    if (op == feed::record_op::remove)
      stage_->remove(t.resident_code);
    else
      stage_->put(t);
  } catch (const std::exception& e) {
    parser_.add_error({parser_.records_seen() + 2, "", std::string("storage failed while staging: ")
                                                          + e.what()});
  }
  wipe(t);
}

bool feed_load::finish() {
  parser_.finish();
  if (!parser_.ok() || !stage_) {
    reject({});
    return false;
  }
  ctx_.feeds.update(
    id_,
    [&](feed_status& s) {
      s.state = "applying";
      s.records_total = parser_.records_seen();
      s.records_done = parser_.records_seen();
    },
    true);
  try {
    stage_->commit();
  } catch (const std::exception& e) {
    reject({{1, "", std::string("storage failed while applying: ") + e.what()}});
    return false;
  }
  // Tax records and manual holds of residents who left go with them (data-lifecycle.md). The
  // commit recorded who; a failure or a crash here leaves them to the deletion timer's next tick
  // (not issuable meanwhile: no resident record).
  if (departed_ > 0) {
    try {
      ctx_.db->remove_departed();
    } catch (const std::exception&) {
      // nop
    }
  }
  done_ = true;
  auto skipped = stage_->records_skipped();
  auto records = parser_.records_seen() - std::min(skipped, parser_.records_seen());
  ctx_.feeds.update(
    id_,
    [&](feed_status& s) {
      s.state = "applied";
      s.records_skipped = skipped;
      s.finished_at = format_jst(now_ms());
    },
    true);
  if (auto h = parser_.header()) {
    auto kind = kind_name(h->kind);
    ctx_.metrics.add("kofu_feed_records_total", "kind=\"" + kind + "\",result=\"applied\"",
                     records);
    if (skipped > 0)
      ctx_.metrics.add("kofu_feed_records_total", "kind=\"" + kind + "\",result=\"skipped\"",
                       skipped);
    ctx_.metrics.set("kofu_feed_last_applied_timestamp_seconds", "kind=\"" + kind + "\"",
                     static_cast<double>(now_ms()) / 1e3);
  }
  return true;
}

void feed_load::abort(const std::string& why) {
  // The line it stopped at (feeds.md: every error names its line).
  reject({{parser_.line(), "", why}});
}

void feed_load::reject(std::vector<feed_status_error> extra) {
  done_ = true;
  if (stage_) {
    try {
      stage_->abort();
    } catch (const std::exception&) {
      // The stage marker stays; the next start sweeps it.
    }
    stage_.reset();
  }
  std::vector<feed_status_error> errors;
  for (auto& e : parser_.errors())
    errors.push_back({e.line, e.field, e.message});
  for (auto& e : extra)
    errors.push_back(std::move(e));
  auto total = parser_.errors_total() + extra.size();
  if (errors.size() > 100)
    errors.resize(100);
  ctx_.feeds.update(
    id_,
    [&](feed_status& s) {
      s.state = "rejected";
      if (s.kind.empty() && parser_.kind_named())
        s.kind = kind_name(*parser_.kind_named());
      s.records_done = parser_.records_seen();
      s.records_total = parser_.records_seen();
      s.errors = errors;
      s.errors_total = total;
      s.finished_at = format_jst(now_ms());
    },
    true);
  if (auto h = parser_.header())
    ctx_.metrics.add("kofu_feed_records_total",
                     "kind=\"" + kind_name(h->kind) + "\",result=\"rejected\"",
                     parser_.records_seen());
}

} // namespace kofu
