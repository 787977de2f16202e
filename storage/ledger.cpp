#include "storage/ledger.hpp"

#include <map>

#include <nlohmann/json.hpp>

#include "messages/clock.hpp"
#include "storage/json_text.hpp"

namespace kofu::storage {

namespace {

/// The row as served (ledger_json) through nlohmann.
nlohmann::json row_json(const ledger_row& r) {
  return {{"request_id", r.request_id},         {"certificate_number", r.certificate_number},
          {"certificate_type", r.certificate_type}, {"fiscal_year", r.fiscal_year},
          {"issued_at", r.issued_at},           {"store_code", r.store_code},
          {"terminal_id", r.terminal_id},       {"outcome", r.outcome}};
}

std::optional<ledger_row> row_from(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded())
    return std::nullopt;
  ledger_row r;
  r.request_id = j.value("request_id", "");
  r.certificate_number = j.value("certificate_number", "");
  r.certificate_type = j.value("certificate_type", "");
  r.fiscal_year = j.value("fiscal_year", 0);
  r.issued_at = j.value("issued_at", "");
  r.store_code = j.value("store_code", "");
  r.terminal_id = j.value("terminal_id", "");
  r.outcome = j.value("outcome", "none");
  return r;
}

// The stored forms are written by hand (storage/json_text.hpp), members in sorted key order: the
// same bytes as row_json(r).dump() and as the request record's former nlohmann object, without
// building a tree per issuance. tests/storage/json_text_test.cpp compares them with nlohmann.

std::string row_text(const ledger_row& r) {
  using namespace json_text;
  std::string out;
  out.reserve(256);
  out += '{';
  member(out, "certificate_number", r.certificate_number, true);
  member(out, "certificate_type", r.certificate_type);
  member(out, "fiscal_year", r.fiscal_year);
  member(out, "issued_at", r.issued_at);
  member(out, "outcome", r.outcome);
  member(out, "request_id", r.request_id);
  member(out, "store_code", r.store_code);
  member(out, "terminal_id", r.terminal_id);
  out += '}';
  return out;
}

std::string request_json(const request_record& q) {
  using namespace json_text;
  std::string out;
  out.reserve(256);
  out += '{';
  member(out, "answered_ms", q.answered_ms, true);
  member(out, "certificate_number", q.certificate_number);
  member(out, "content_mac", q.content_mac);
  member(out, "fiscal_year", q.fiscal_year);
  member(out, "issue_date", to_string(q.issue_date));
  member(out, "ledger_day", q.ledger_day);
  member(out, "outcome", q.outcome);
  out += '}';
  return out;
}

} // namespace

void add_issuance(write_batch& batch, const ledger_row& row, const request_record& req) {
  batch.put(column::ledger, keys::ledger_row(req.ledger_day, row.certificate_number),
            row_text(row));
  batch.put(column::ledger, keys::ledger_request(row.request_id), request_json(req));
}

void add_outcome(write_batch& batch, const database& db, const std::string& request_id,
                 const request_record& req, const std::string& outcome) {
  auto updated = req;
  updated.outcome = outcome;
  batch.put(column::ledger, keys::ledger_request(request_id), request_json(updated));
  auto key = keys::ledger_row(req.ledger_day, req.certificate_number);
  if (auto text = db.get(column::ledger, key)) {
    if (auto row = row_from(*text)) {
      row->outcome = outcome;
      batch.put(column::ledger, key, row_text(*row));
    }
  }
}

void add_forget(write_batch& batch, const database& db, const std::string& request_id,
                const request_record& req) {
  // Another issuance of the same request_id may have recorded itself since: its record stays.
  // (A record that cannot be read is not kept: it names no certificate the center had.)
  bool ours = true;
  try {
    auto current = find_request(db, request_id);
    ours = !current || current->certificate_number == req.certificate_number;
  } catch (const storage_error&) {
  }
  if (ours)
    batch.del(column::ledger, keys::ledger_request(request_id));
  batch.del(column::ledger, keys::ledger_row(req.ledger_day, req.certificate_number));
}

std::optional<request_record> find_request(const database& db, const std::string& request_id) {
  auto text = db.get(column::ledger, keys::ledger_request(request_id));
  if (!text)
    return std::nullopt;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded())
    throw storage_error("storage: a request record is corrupt");
  request_record q;
  q.content_mac = j.value("content_mac", "");
  q.certificate_number = j.value("certificate_number", "");
  q.fiscal_year = j.value("fiscal_year", 0);
  q.issue_date = parse_civil_date(j.value("issue_date", "")).value_or(civil_date{});
  q.answered_ms = j.value("answered_ms", int64_t{0});
  q.outcome = j.value("outcome", "none");
  q.ledger_day = j.value("ledger_day", 0u);
  return q;
}

std::vector<ledger_row> ledger_day(const database& db, const civil_date& day) {
  std::vector<ledger_row> rows;
  auto prefix = keys::ledger_day_prefix(yyyymmdd(day));
  db.scan(column::ledger, prefix, keys::prefix_end(prefix),
          [&](std::string_view, std::string_view value) {
            if (auto r = row_from(value))
              rows.push_back(std::move(*r));
            return true;
          });
  return rows;
}

std::string ledger_json(const civil_date& day, const std::vector<ledger_row>& rows) {
  auto list = nlohmann::json::array();
  std::map<std::string, std::map<std::string, uint64_t>> totals;
  for (auto& r : rows) {
    list.push_back(row_json(r));
    ++totals[r.certificate_type][r.outcome];
  }
  nlohmann::json t = nlohmann::json::object();
  for (auto& [type, outcomes] : totals)
    for (auto& [outcome, n] : outcomes)
      t[type][outcome] = n;
  return nlohmann::json{{"date", to_string(day)}, {"rows", list}, {"totals", t}}.dump();
}

std::string ledger_csv(const std::vector<ledger_row>& rows) {
  std::string out = "request_id,certificate_number,certificate_type,fiscal_year,issued_at,"
                    "store_code,terminal_id,outcome\r\n";
  // Every value is from a restricted alphabet ([A-Za-z0-9._-], digits, RFC 3339): no quoting needed.
  for (auto& r : rows)
    out += r.request_id + "," + r.certificate_number + "," + r.certificate_type + ","
           + std::to_string(r.fiscal_year) + "," + r.issued_at + "," + r.store_code + ","
           + r.terminal_id + "," + r.outcome + "\r\n";
  return out;
}

std::string certificate_sequence::next(const civil_date& day) {
  std::lock_guard guard(mutex_);
  auto d = yyyymmdd(day);
  if (d != day_) {
    day_ = d;
    auto v = db_.get(column::meta, keys::certificate_day(d));
    reserved_ = v && v->size() == 4 ? keys::read_u32(*v, 0) : 0;
    next_ = reserved_ + 1; // numbers reserved before a restart are never handed out again
  }
  if (next_ > per_day_max)
    throw storage_error("storage: the certificate numbers of the day are used up");
  if (next_ > reserved_) {
    auto upto = std::min(next_ - 1 + reserve_block, per_day_max);
    std::string v;
    keys::append_u32(v, upto);
    db_.put(column::meta, keys::certificate_day(d), v, true);
    reserved_ = upto;
  }
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%08u-%06u", d, next_++);
  return buf;
}

void certificate_sequence::release_unused() {
  std::lock_guard guard(mutex_);
  if (day_ == 0 || reserved_ < next_)
    return;
  std::string v;
  keys::append_u32(v, next_ - 1);
  db_.put(column::meta, keys::certificate_day(day_), v, true);
  reserved_ = next_ - 1;
}

} // namespace kofu::storage
