// The stored forms of the audit entry, ledger row, request record and chain state are written by
// hand (storage/json_text.hpp). These tests hold them to what nlohmann::json::dump() gives for the
// same objects, byte for byte, pin the audit chain's canonical form and MAC to values computed
// elsewhere, and check that the MAC covers every field.

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "storage/audit_chain.hpp"
#include "storage/json_text.hpp"
#include "storage/ledger.hpp"
#include "test_util.hpp"

using namespace kofu;
using namespace kofu::storage;
using nlohmann::json;

namespace {

/// The entry as nlohmann builds it: what the stored form was before the hand-written writer.
json reference_fields(const audit_entry& e) {
  json j;
  j["seq"] = e.seq;
  j["time"] = e.time;
  j["actor"] = e.actor;
  j["event"] = e.event;
  j["outcome"] = e.outcome;
  auto opt = [&](const char* name, const std::string& v) {
    if (!v.empty())
      j[name] = v;
  };
  opt("request_id", e.request_id);
  opt("certificate_number", e.certificate_number);
  opt("pdf_sha256", e.pdf_sha256);
  opt("subject", e.subject);
  opt("detail", e.detail);
  return j;
}

std::string reference_canonical(const audit_entry& e) {
  return reference_fields(e).dump();
}

std::string reference_stored(const audit_entry& e) {
  auto j = reference_fields(e);
  j["mac"] = e.mac;
  return j.dump();
}

audit_entry full_entry() {
  audit_entry e;
  e.seq = 42;
  e.time = "2026-11-28T10:15:00.123+09:00";
  e.actor = "center";
  e.event = "issuance";
  e.outcome = "ok";
  e.request_id = "C20261128-0000042";
  e.certificate_number = "20261128-000042";
  e.pdf_sha256 = std::string(32, 'a') + std::string(32, 'b');
  e.subject = std::string(64, 'c');
  e.detail = "rollover 2025: 1000000 records destroyed";
  e.mac = std::string(64, 'f');
  return e;
}

key256 fixed_key() {
  uint8_t bytes[32];
  for (int i = 0; i < 32; ++i)
    bytes[i] = static_cast<uint8_t>(i);
  return key256(bytes);
}

struct db_fixture {
  test::temp_dir dir;
  std::unique_ptr<database> db = database::open(dir.str() + "/db", key256::random());
};

} // namespace

TEST_CASE("json_text writes strings exactly as nlohmann's dump() does") {
  std::vector<std::string> samples = {
    "",
    "plain-ASCII_0123.xyz",
    "quote \" backslash \\ slash /",
    std::string("controls \b\f\n\r\t \x01\x1f end"),
    std::string("nul \0 inside", 12),
    "del \x7f stays",
    "日本語の詳細 (UTF-8)",
    "mixed \"日本\"\n",
  };
  for (auto& s : samples) {
    std::string out;
    json_text::string(out, s);
    CHECK(out == json(s).dump());
  }
  // Invalid UTF-8 is refused as nlohmann refuses it.
  std::string out;
  CHECK_THROWS_AS(json_text::string(out, "bad \xff byte"), json::type_error);
}

TEST_CASE("json_text writes integers as nlohmann does") {
  auto check = [](auto v) {
    std::string out;
    json_text::number(out, v);
    CHECK(out == json(v).dump());
  };
  check(uint64_t{0});
  check(uint64_t{18'446'744'073'709'551'615u});
  check(int32_t{-2025});
  check(int64_t{1'800'000'000'000});
  check(uint32_t{20261128});
}

TEST_CASE("the audit entry's canonical and stored forms are nlohmann's, for every field shape") {
  auto base = full_entry();
  std::vector<audit_entry> cases;
  cases.push_back(base);
  {
    auto e = base; // only the fields that always apply
    e.request_id.clear();
    e.certificate_number.clear();
    e.pdf_sha256.clear();
    e.subject.clear();
    e.detail.clear();
    cases.push_back(e);
  }
  {
    auto e = base; // a token's name and a free-text detail that need escaping
    e.actor = "ops \"night\"";
    e.detail = "line 1\nline 2\t\\ 日本語";
    e.mac.clear();
    e.seq = UINT64_MAX;
    cases.push_back(e);
  }
  for (auto& e : cases) {
    CHECK(canonical_json(e) == reference_canonical(e));
    CHECK(to_json(e) == reference_stored(e));
    auto back = audit_entry_from_json(to_json(e));
    REQUIRE(back.has_value());
    CHECK(to_json(*back) == to_json(e));
  }
}

TEST_CASE("the audit chain's canonical form and MAC are stable") {
  // Computed independently (Python: json.dumps(sort_keys, compact) and hmac.new(key, prev || text,
  // sha256)). A change here breaks every chain already written: it must be deliberate.
  audit_entry e;
  e.seq = 42;
  e.time = "2026-11-28T10:15:00.123+09:00";
  e.actor = "center";
  e.event = "issuance";
  e.outcome = "ok";
  e.request_id = "C20261128-0000042";
  e.certificate_number = "20261128-000042";
  e.pdf_sha256 = "";
  for (int i = 0; i < 32; ++i)
    e.pdf_sha256 += "ab";
  for (int i = 0; i < 32; ++i)
    e.subject += "cd";
  CHECK(canonical_json(e)
        == "{\"actor\":\"center\",\"certificate_number\":\"20261128-000042\",\"event\":\"issuance\","
           "\"outcome\":\"ok\",\"pdf_sha256\":\"" + e.pdf_sha256 + "\",\"request_id\":"
           "\"C20261128-0000042\",\"seq\":42,\"subject\":\"" + e.subject + "\",\"time\":"
           "\"2026-11-28T10:15:00.123+09:00\"}");
  const std::string prev(64, '0');
  const std::string expected = "027a58d2618d85e09c685f83f5c4d20c940972ee8c812f7f25e6cb50e1df3d00";
  CHECK(chain_mac(fixed_key(), prev, e) == expected);
  hmac_key key(fixed_key());
  CHECK(chain_mac(key, prev, e) == expected);
  CHECK(to_hex(hmac_sha256(fixed_key(), prev + canonical_json(e))) == expected);
}

TEST_CASE("the reusable chain key gives HMAC-SHA-256, call after call, however the data is split") {
  auto k = key256::random();
  hmac_key key(k);
  std::string data;
  for (size_t n : {0, 1, 55, 63, 64, 65, 127, 128, 1000}) {
    data.assign(n, 'x');
    for (size_t i = 0; i < n; ++i)
      data[i] = static_cast<char>('a' + (i * 7 + n) % 26);
    auto expected = hmac_sha256(k, data);
    std::string_view v(data);
    CHECK(key.mac({v}) == expected);
    CHECK(key.mac({v.substr(0, n / 3), v.substr(n / 3, n / 3), v.substr(2 * (n / 3))}) == expected);
    CHECK(key.mac({"", v, ""}) == expected);
  }
  CHECK(hmac_key(key256::random()).mac({"x"}) != key.mac({"x"}));
}

TEST_CASE("the chain MAC covers every field of the entry, its name and the previous MAC") {
  auto k = key256::random();
  hmac_key key(k);
  auto base = full_entry();
  const std::string prev(64, '1');
  auto base_mac = chain_mac(key, prev, base);
  // Each field changed alone, set when empty, or cleared when set.
  std::vector<std::pair<std::string, std::function<void(audit_entry&)>>> changes = {
    {"seq", [](audit_entry& e) { e.seq += 1; }},
    {"time", [](audit_entry& e) { e.time[e.time.size() - 8] = '1'; }},
    {"actor", [](audit_entry& e) { e.actor = "system"; }},
    {"event", [](audit_entry& e) { e.event = "redelivery"; }},
    {"outcome", [](audit_entry& e) { e.outcome = "failed"; }},
    {"request_id", [](audit_entry& e) { e.request_id += "1"; }},
    {"request_id cleared", [](audit_entry& e) { e.request_id.clear(); }},
    {"certificate_number", [](audit_entry& e) { e.certificate_number.back() = '3'; }},
    {"certificate_number cleared", [](audit_entry& e) { e.certificate_number.clear(); }},
    {"pdf_sha256", [](audit_entry& e) { e.pdf_sha256[10] = '0'; }},
    {"pdf_sha256 cleared", [](audit_entry& e) { e.pdf_sha256.clear(); }},
    {"subject", [](audit_entry& e) { e.subject[63] = 'd'; }},
    {"subject cleared", [](audit_entry& e) { e.subject.clear(); }},
    {"detail", [](audit_entry& e) { e.detail += "."; }},
    {"detail cleared", [](audit_entry& e) { e.detail.clear(); }},
    // The same value under another field's name.
    {"value moved", [](audit_entry& e) {
       e.certificate_number = e.request_id;
       e.request_id.clear();
     }},
    {"subject moved to detail", [](audit_entry& e) {
       e.detail = e.subject;
       e.subject.clear();
     }},
  };
  for (auto& [name, change] : changes) {
    INFO(name);
    auto e = base;
    change(e);
    CHECK(canonical_json(e) != canonical_json(base));
    CHECK(chain_mac(key, prev, e) != base_mac);
  }
  CHECK(chain_mac(key, std::string(64, '2'), base) != base_mac);
  // The MAC itself is not covered (it is what is computed), so the stored mac may be anything.
  auto e = base;
  e.mac = "other";
  CHECK(chain_mac(key, prev, e) == base_mac);
}

TEST_CASE("chain_entries stores nlohmann's form with the MAC of prev || canonical form") {
  db_fixture f;
  auto k = f.db->named_key(audit_key_name);
  auto state = load_audit_state(*f.db);
  std::vector<audit_entry> entries;
  for (int i = 0; i < 3; ++i) {
    auto e = full_entry();
    e.mac.clear();
    e.detail = i == 1 ? "escaped \"detail\"\n日本" : "";
    e.request_id = "R" + std::to_string(i);
    entries.push_back(e);
  }
  write_batch b(*f.db);
  hmac_key key(k);
  chain_entries(key, state, entries, b);
  f.db->write(b, true);
  std::string prev(64, '0');
  for (auto& e : entries) {
    auto stored = f.db->get(column::audit, keys::id(e.seq));
    REQUIRE(stored.has_value());
    CHECK(*stored == reference_stored(e));
    CHECK(e.mac == to_hex(hmac_sha256(k, prev + reference_canonical(e))));
    prev = e.mac;
  }
  // The chain state as nlohmann wrote it.
  auto s = f.db->get(column::meta, "audit/state");
  REQUIRE(s.has_value());
  CHECK(*s == json{{"first_seq", 1}, {"prev_mac", std::string(64, '0')}, {"last_seq", 3},
                   {"last_mac", entries.back().mac}}
                .dump());
  CHECK(load_audit_state(*f.db).last_mac == entries.back().mac);
  CHECK(verify_chain(*f.db, k).ok);
}

TEST_CASE("a change to any stored field is found by verify") {
  db_fixture f;
  auto k = f.db->named_key(audit_key_name);
  auto state = load_audit_state(*f.db);
  std::vector<audit_entry> entries(3, full_entry());
  write_batch b(*f.db);
  chain_entries(k, state, entries, b);
  f.db->write(b, true);
  REQUIRE(verify_chain(*f.db, k).ok);
  auto original = *f.db->get(column::audit, keys::id(2));
  std::vector<std::pair<std::string, std::string>> edits = {
    {"\"center\"", "\"centre\""},
    {"\"issuance\"", "\"issuanc3\""},
    {"\"time\":\"2026-11-28T10:15", "\"time\":\"2026-11-28T10:16"},
    {"\"certificate_number\":\"20261128-000042\"", "\"certificate_number\":\"20261128-000043\""},
    {"\"pdf_sha256\":\"a", "\"pdf_sha256\":\"b"},
    {"\"subject\":\"c", "\"subject\":\"d"},
    {"records destroyed", "records  destroyed"},
    {",\"detail\":\"rollover 2025: 1000000 records destroyed\"", ""},
    {",\"request_id\":\"C20261128-0000042\"", ""},
  };
  for (auto& [from, to] : edits) {
    INFO(from);
    auto text = original;
    auto pos = text.find(from);
    REQUIRE(pos != std::string::npos);
    text.replace(pos, from.size(), to);
    f.db->put(column::audit, keys::id(2), text, true);
    auto r = verify_chain(*f.db, k);
    CHECK_FALSE(r.ok);
    CHECK(r.failed_seq == 2);
  }
  f.db->put(column::audit, keys::id(2), original, true);
  CHECK(verify_chain(*f.db, k).ok);
}

TEST_CASE("the ledger row and request record are stored as nlohmann wrote them") {
  db_fixture f;
  ledger_row row{"C20261128-1", "20261128-000007", "income_tax", 2025,
                 "2026-11-28T10:00:00.000+09:00", "S0001234", "T01", "none"};
  request_record rec;
  rec.content_mac = std::string(64, 'e');
  rec.certificate_number = row.certificate_number;
  rec.fiscal_year = 2025;
  rec.issue_date = civil_date{2026, 11, 28};
  rec.answered_ms = 1'800'000'000'123;
  rec.ledger_day = 20261128;
  {
    write_batch b(*f.db);
    add_issuance(b, row, rec);
    f.db->write(b, true);
  }
  auto row_ref = [](const ledger_row& r) {
    return json{{"request_id", r.request_id},         {"certificate_number", r.certificate_number},
                {"certificate_type", r.certificate_type}, {"fiscal_year", r.fiscal_year},
                {"issued_at", r.issued_at},           {"store_code", r.store_code},
                {"terminal_id", r.terminal_id},       {"outcome", r.outcome}}
      .dump();
  };
  auto rec_ref = [](const request_record& q) {
    return json{{"content_mac", q.content_mac},
                {"certificate_number", q.certificate_number},
                {"fiscal_year", q.fiscal_year},
                {"issue_date", to_string(q.issue_date)},
                {"answered_ms", q.answered_ms},
                {"outcome", q.outcome},
                {"ledger_day", q.ledger_day}}
      .dump();
  };
  auto row_key = keys::ledger_row(rec.ledger_day, row.certificate_number);
  CHECK(*f.db->get(column::ledger, row_key) == row_ref(row));
  CHECK(*f.db->get(column::ledger, keys::ledger_request(row.request_id)) == rec_ref(rec));

  auto found = find_request(*f.db, row.request_id);
  REQUIRE(found.has_value());
  CHECK(found->content_mac == rec.content_mac);
  CHECK(found->answered_ms == rec.answered_ms);
  CHECK(found->issue_date == rec.issue_date);
  CHECK(found->ledger_day == rec.ledger_day);
  CHECK(found->fiscal_year == rec.fiscal_year);
  {
    write_batch b(*f.db);
    add_outcome(b, *f.db, row.request_id, *found, "print_failed");
    f.db->write(b, true);
  }
  row.outcome = "print_failed";
  rec.outcome = "print_failed";
  CHECK(*f.db->get(column::ledger, row_key) == row_ref(row));
  CHECK(*f.db->get(column::ledger, keys::ledger_request(row.request_id)) == rec_ref(rec));

  // What GET /admin/v1/ledger serves (admin-api.md): the row as read back, with the totals.
  auto rows = ledger_day(*f.db, rec.issue_date);
  REQUIRE(rows.size() == 1);
  CHECK(ledger_json(rec.issue_date, rows)
        == "{\"date\":\"2026-11-28\",\"rows\":[" + row_ref(row)
             + "],\"totals\":{\"income_tax\":{\"print_failed\":1}}}");
  CHECK(ledger_csv(rows)
        == "request_id,certificate_number,certificate_type,fiscal_year,issued_at,store_code,"
           "terminal_id,outcome\r\nC20261128-1,20261128-000007,income_tax,2025,"
           "2026-11-28T10:00:00.000+09:00,S0001234,T01,print_failed\r\n");
}
