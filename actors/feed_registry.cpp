#include "actors/feed_registry.hpp"

#include <nlohmann/json.hpp>

#include "messages/clock.hpp"
#include "storage/keys.hpp"

namespace kofu {

namespace {

constexpr std::string_view next_id_key = "feed/next_id";

nlohmann::json json_of(const feed_status& s) {
  auto errors = nlohmann::json::array();
  for (auto& e : s.errors) {
    nlohmann::json j = {{"line", e.line}, {"message", e.message}};
    j["field"] = e.field.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.field);
    errors.push_back(j);
  }
  nlohmann::json j = {{"feed_id", s.id},
                      {"state", s.state},
                      {"source", s.source},
                      {"actor", s.actor},
                      {"records_total", s.records_total},
                      {"records_done", s.records_done},
                      {"records_skipped", s.records_skipped},
                      {"errors_total", s.errors_total},
                      {"errors", errors},
                      {"received_at", s.received_at}};
  auto opt = [&](const char* name, const std::string& v) {
    j[name] = v.empty() ? nlohmann::json(nullptr) : nlohmann::json(v);
  };
  opt("kind", s.kind);
  opt("mode", s.mode);
  opt("started_at", s.started_at);
  opt("finished_at", s.finished_at);
  if (s.fiscal_year != 0)
    j["fiscal_year"] = s.fiscal_year;
  if (s.sequence != 0)
    j["sequence"] = s.sequence;
  return j;
}

} // namespace

std::string to_json(const feed_status& s) {
  return json_of(s).dump();
}

feed_registry::feed_registry(storage::database& db) : db_(db) {
  // nop
}

uint64_t feed_registry::create(const std::string& source, const std::string& actor) {
  feed_status s;
  {
    std::lock_guard guard(mutex_);
    auto v = db_.get(storage::column::meta, next_id_key);
    s.id = v && v->size() == 8 ? storage::keys::read_u64(*v, 0) : 1;
    db_.put(storage::column::meta, next_id_key, storage::keys::id(s.id + 1), true);
    s.source = source;
    s.actor = actor;
    s.received_at = format_jst(now_ms());
    live_[s.id] = s;
  }
  store(s);
  return s.id;
}

std::optional<feed_status> feed_registry::get(uint64_t id) const {
  {
    std::lock_guard guard(mutex_);
    auto i = live_.find(id);
    if (i != live_.end())
      return i->second;
  }
  auto v = db_.get(storage::column::feeds, storage::keys::id(id));
  if (!v)
    return std::nullopt;
  return parse(*v);
}

std::vector<feed_status> feed_registry::history(size_t limit) const {
  std::vector<uint64_t> ids;
  db_.scan(storage::column::feeds, storage::keys::id(0), {},
           [&](std::string_view key, std::string_view) {
             if (auto id = storage::keys::parse_id(key))
               ids.push_back(*id);
             return true;
           });
  std::vector<feed_status> out;
  for (auto i = ids.rbegin(); i != ids.rend() && out.size() < limit; ++i)
    if (auto s = get(*i))
      out.push_back(std::move(*s));
  return out;
}

std::optional<feed_status> feed_registry::last_applied(const std::string& kind) const {
  for (auto& s : history(SIZE_MAX))
    if (s.state == "applied" && s.kind == kind)
      return s;
  return std::nullopt;
}

std::optional<feed_status> feed_registry::last_of(const std::string& kind) const {
  for (auto& s : history(SIZE_MAX))
    if (s.kind == kind)
      return s;
  return std::nullopt;
}

std::vector<uint64_t> feed_registry::close_interrupted() {
  std::vector<uint64_t> ids;
  for (auto& s : history(SIZE_MAX)) {
    if (s.state == "applied" || s.state == "rejected")
      continue;
    auto copy = s;
    copy.finished_at = format_jst(now_ms());
    if (s.state == "applying" && s.sequence > 0 && (s.kind == "residents" || s.kind == "tax")) {
      auto set = s.kind == "residents" ? storage::dataset::residents : storage::dataset::tax;
      auto year = set == storage::dataset::tax ? std::optional<int32_t>(s.fiscal_year) : std::nullopt;
      if (db_.last_sequence(set, year) >= s.sequence) {
        copy.state = "applied";
        store(copy);
        continue;
      }
    }
    copy.state = "rejected";
    copy.errors.push_back({1, "", "interrupted: the node stopped before the feed was applied; "
                                  "nothing of it was applied, deliver it again"});
    ++copy.errors_total;
    store(copy);
    ids.push_back(s.id);
  }
  return ids;
}

void feed_registry::store(const feed_status& s) {
  db_.put(storage::column::feeds, storage::keys::id(s.id), to_json(s), true);
}

std::optional<feed_status> feed_registry::parse(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return std::nullopt;
  feed_status s;
  auto str = [&](const char* name) {
    return j.contains(name) && j[name].is_string() ? j[name].get<std::string>() : std::string{};
  };
  s.id = j.value("feed_id", uint64_t{0});
  s.state = str("state");
  s.source = str("source");
  s.actor = str("actor");
  s.kind = str("kind");
  s.mode = str("mode");
  s.fiscal_year = j.value("fiscal_year", 0);
  s.sequence = j.value("sequence", uint64_t{0});
  s.records_total = j.value("records_total", uint64_t{0});
  s.records_done = j.value("records_done", uint64_t{0});
  s.records_skipped = j.value("records_skipped", uint64_t{0});
  s.errors_total = j.value("errors_total", uint64_t{0});
  s.received_at = str("received_at");
  s.started_at = str("started_at");
  s.finished_at = str("finished_at");
  if (j.contains("errors") && j["errors"].is_array())
    for (auto& e : j["errors"])
      s.errors.push_back({e.value("line", uint64_t{0}),
                          e.contains("field") && e["field"].is_string()
                            ? e["field"].get<std::string>()
                            : std::string{},
                          e.value("message", "")});
  return s;
}

} // namespace kofu
