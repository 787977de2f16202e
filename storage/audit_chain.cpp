#include "storage/audit_chain.hpp"

#include <cstring>

#include <nlohmann/json.hpp>

#include "storage/json_text.hpp"

namespace kofu::storage {

namespace {

const std::string zero_mac(64, '0');
constexpr std::string_view state_key = "audit/state";
constexpr size_t mac_hex_chars = 64;

/// Writes the entry's JSON. Members in sorted key order, as nlohmann's std::map-backed objects
/// were dumped (the format is unchanged; only the writer is new): actor, certificate_number,
/// detail, event, [mac], outcome, pdf_sha256, request_id, seq, subject, time. With `mac`, the
/// "mac" member holds *mac; the offsets of `,"mac":"…"` in `out` are returned through
/// `mac_begin`/`mac_end`, so the caller can MAC the text around it (the canonical form) and fill
/// the value in afterwards.
void write_entry(std::string& out, const audit_entry& e, const std::string* mac,
                 size_t* mac_begin = nullptr, size_t* mac_end = nullptr) {
  using namespace json_text;
  out += '{';
  member(out, "actor", e.actor, true);
  optional_member(out, "certificate_number", e.certificate_number);
  optional_member(out, "detail", e.detail);
  member(out, "event", e.event);
  if (mac) {
    if (mac_begin)
      *mac_begin = out.size();
    member(out, "mac", *mac);
    if (mac_end)
      *mac_end = out.size();
  }
  member(out, "outcome", e.outcome);
  optional_member(out, "pdf_sha256", e.pdf_sha256);
  optional_member(out, "request_id", e.request_id);
  member(out, "seq", e.seq);
  optional_member(out, "subject", e.subject);
  member(out, "time", e.time);
  out += '}';
}

std::string state_json(const audit_state& s) {
  using namespace json_text;
  std::string out;
  out.reserve(192);
  out += '{';
  member(out, "first_seq", s.first_seq, true);
  member(out, "last_mac", s.last_mac);
  member(out, "last_seq", s.last_seq);
  member(out, "prev_mac", s.prev_mac);
  out += '}';
  return out;
}

void hex_into(char* out, const digest256& d) {
  static constexpr char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < d.size(); ++i) {
    out[2 * i] = digits[d[i] >> 4];
    out[2 * i + 1] = digits[d[i] & 0xf];
  }
}

} // namespace

// -- entries --------------------------------------------------------------------------------------

std::string canonical_json(const audit_entry& e) {
  std::string out;
  out.reserve(384);
  write_entry(out, e, nullptr);
  return out;
}

std::string to_json(const audit_entry& e) {
  std::string out;
  out.reserve(480);
  write_entry(out, e, &e.mac);
  return out;
}

std::optional<audit_entry> audit_entry_from_json(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return std::nullopt;
  audit_entry e;
  try {
    e.seq = j.at("seq").get<uint64_t>();
    e.time = j.at("time").get<std::string>();
    e.actor = j.at("actor").get<std::string>();
    e.event = j.at("event").get<std::string>();
    e.outcome = j.at("outcome").get<std::string>();
    e.mac = j.at("mac").get<std::string>();
    auto opt = [&](const char* name, std::string& out) {
      if (j.contains(name))
        out = j[name].get<std::string>();
    };
    opt("request_id", e.request_id);
    opt("certificate_number", e.certificate_number);
    opt("pdf_sha256", e.pdf_sha256);
    opt("subject", e.subject);
    opt("detail", e.detail);
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
  return e;
}

std::string chain_mac(const hmac_key& key, const std::string& prev_mac, const audit_entry& e) {
  return to_hex(key.mac({prev_mac, canonical_json(e)}));
}

std::string chain_mac(const key256& audit_key, const std::string& prev_mac, const audit_entry& e) {
  return chain_mac(hmac_key(audit_key), prev_mac, e);
}

audit_state load_audit_state(const database& db, const snapshot* snap) {
  audit_state s;
  s.prev_mac = zero_mac;
  s.last_mac = zero_mac;
  auto v = db.get(column::meta, state_key, snap);
  if (!v)
    return s;
  auto j = nlohmann::json::parse(*v, nullptr, false);
  if (j.is_discarded())
    throw storage_error("storage: the audit state is corrupt");
  s.first_seq = j.value("first_seq", uint64_t{1});
  s.prev_mac = j.value("prev_mac", zero_mac);
  s.last_seq = j.value("last_seq", uint64_t{0});
  s.last_mac = j.value("last_mac", zero_mac);
  return s;
}

void chain_entries(const hmac_key& key, audit_state& state, std::vector<audit_entry>& entries,
                   write_batch& batch) {
  // One pass per entry: the stored text is written with a placeholder MAC; the canonical form is
  // that text without its `,"mac":"…"` member (it is never first nor last: "actor" sorts before
  // and "outcome" after), so the MAC is taken over the two pieces around it and then written in.
  std::string text;
  const std::string placeholder(mac_hex_chars, '0');
  for (auto& e : entries) {
    e.seq = ++state.last_seq;
    text.clear();
    size_t mac_begin = 0;
    size_t mac_end = 0;
    write_entry(text, e, &placeholder, &mac_begin, &mac_end);
    std::string_view all(text);
    auto d = key.mac({state.last_mac, all.substr(0, mac_begin), all.substr(mac_end)});
    char* value = text.data() + mac_end - 1 - mac_hex_chars; // between the quotes
    hex_into(value, d);
    e.mac.assign(value, mac_hex_chars);
    state.last_mac = e.mac;
    batch.put(column::audit, keys::id(e.seq), text);
  }
  batch.put(column::meta, state_key, state_json(state));
}

void chain_entries(const key256& audit_key, audit_state& state, std::vector<audit_entry>& entries,
                   write_batch& batch) {
  chain_entries(hmac_key(audit_key), state, entries, batch);
}

verify_result verify_chain(const database& db, const key256& audit_key) {
  verify_result r;
  hmac_key mac_key(audit_key);
  // One snapshot: appends that land meanwhile are not half seen.
  auto snap = db.take_snapshot();
  auto state = load_audit_state(db, snap.get());
  auto expected_seq = state.first_seq;
  auto prev = state.prev_mac;
  db.scan(column::audit, keys::id(state.first_seq), {}, [&](std::string_view key,
                                                             std::string_view value) {
    auto seq = keys::parse_id(key);
    auto e = audit_entry_from_json(value);
    if (!seq || !e || e->seq != *seq) {
      r = {false, r.entries, seq.value_or(0), "entry does not parse or its key is wrong"};
      return false;
    }
    if (*seq != expected_seq) {
      r = {false, r.entries, expected_seq,
           *seq < expected_seq ? "entry before the recorded head" : "entry missing"};
      return false;
    }
    if (chain_mac(mac_key, prev, *e) != e->mac) {
      r = {false, r.entries, *seq, "MAC does not match: entry changed, moved or replaced"};
      return false;
    }
    prev = e->mac;
    ++expected_seq;
    ++r.entries;
    return true;
  }, snap.get());
  if (!r.ok)
    return r;
  if (expected_seq != state.last_seq + 1 || prev != state.last_mac)
    r = {false, r.entries, expected_seq, "entries missing at the tail"};
  return r;
}

std::vector<audit_entry> query_audit(const database& db, const std::string& from_time,
                                     const std::string& to_time, const std::string& request_id,
                                     size_t limit) {
  std::vector<audit_entry> out;
  // An entry's time is taken when its event happens and its seq when its group is appended, so
  // near `to` the times may be a moment out of order: the scan goes on a bounded way past the
  // first entry at or after `to`. It starts at the chain's head (entries before it are cut).
  constexpr uint64_t past_to_max = 10'000;
  uint64_t past_to = 0;
  db.scan(column::audit, keys::id(load_audit_state(db).first_seq), {},
          [&](std::string_view, std::string_view value) {
    auto e = audit_entry_from_json(value);
    if (!e)
      return true;
    if (!to_time.empty() && e->time >= to_time)
      return ++past_to < past_to_max;
    if (!from_time.empty() && e->time < from_time)
      return true;
    if (!request_id.empty() && e->request_id != request_id)
      return true;
    out.push_back(std::move(*e));
    return out.size() < limit;
  });
  return out;
}

uint64_t cut_audit_head(database& db, audit_state& state, const std::string& cutoff_time) {
  uint64_t removed = 0;
  uint64_t new_first = state.first_seq;
  std::string new_prev = state.prev_mac;
  db.scan(column::audit, keys::id(state.first_seq), {},
          [&](std::string_view, std::string_view value) {
            auto e = audit_entry_from_json(value);
            if (!e || e->time >= cutoff_time)
              return false;
            new_first = e->seq + 1;
            new_prev = e->mac;
            ++removed;
            return true;
          });
  if (removed == 0)
    return 0;
  // The head moves first, then the entries go: a crash between leaves entries before the head,
  // which the next cut removes (verify skips nothing: it starts at the recorded head).
  auto moved = state;
  moved.first_seq = new_first;
  moved.prev_mac = new_prev;
  db.put(column::meta, state_key, state_json(moved), true);
  state = moved;
  db.destroy_range(column::audit, keys::id(0), keys::id(new_first));
  return removed;
}

} // namespace kofu::storage
