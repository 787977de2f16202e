#include "config/config.hpp"

#include <cctype>
#include <charconv>
#include <limits>

namespace kofu::config {

namespace {

/// Reads typed values out of an ini_file, naming `section.key` and its line in every error.
class reader {
public:
  explicit reader(ini_file& ini) : ini_(ini) {
    // nop
  }

  void string(const std::string& section, const std::string& key, std::string& out) {
    if (auto v = ini_.find(section, key))
      out = v->text;
  }

  template <class T>
  void number(const std::string& section, const std::string& key, T& out, uint64_t min = 0,
              uint64_t max = std::numeric_limits<T>::max()) {
    auto v = ini_.find(section, key);
    if (!v)
      return;
    uint64_t x = 0;
    auto [end, ec] = std::from_chars(v->text.data(), v->text.data() + v->text.size(), x);
    if (ec != std::errc{} || end != v->text.data() + v->text.size())
      fail(section, key, *v, "expected a whole number");
    if (x < min || x > max)
      fail(section, key, *v,
           "must be between " + std::to_string(min) + " and " + std::to_string(max));
    out = static_cast<T>(x);
  }

  void boolean(const std::string& section, const std::string& key, bool& out) {
    auto v = ini_.find(section, key);
    if (!v)
      return;
    if (v->text == "true")
      out = true;
    else if (v->text == "false")
      out = false;
    else
      fail(section, key, *v, "expected true or false");
  }

  void listen(const std::string& section, const std::string& key, listen_address& out) {
    auto v = ini_.find(section, key);
    if (!v)
      return;
    auto colon = v->text.rfind(':');
    if (colon == std::string::npos || colon == 0)
      fail(section, key, *v, "expected host:port");
    auto host = v->text.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
    uint32_t port = 0;
    auto p = std::string_view(v->text).substr(colon + 1);
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
    if (ec != std::errc{} || end != p.data() + p.size() || port > 65535)
      fail(section, key, *v, "expected a port from 0 to 65535");
    out = listen_address{host, static_cast<uint16_t>(port)};
  }

  void list(const std::string& section, const std::string& key, std::vector<std::string>& out) {
    auto v = ini_.find(section, key);
    if (!v)
      return;
    out.clear();
    size_t pos = 0;
    while (pos <= v->text.size()) {
      auto comma = v->text.find(',', pos);
      if (comma == std::string::npos)
        comma = v->text.size();
      auto item = v->text.substr(pos, comma - pos);
      auto first = item.find_first_not_of(' ');
      auto last = item.find_last_not_of(' ');
      if (first != std::string::npos)
        out.push_back(item.substr(first, last - first + 1));
      pos = comma + 1;
    }
  }

  void clock_minute(const std::string& section, const std::string& key, uint32_t& out) {
    auto v = ini_.find(section, key);
    if (!v)
      return;
    auto& t = v->text;
    if (t.size() != 5 || t[2] != ':' || !isdigit(t[0]) || !isdigit(t[1]) || !isdigit(t[3])
        || !isdigit(t[4]))
      fail(section, key, *v, "expected HH:MM");
    uint32_t h = (t[0] - '0') * 10 + (t[1] - '0');
    uint32_t m = (t[3] - '0') * 10 + (t[4] - '0');
    if (m > 59 || h > 24 || (h == 24 && m != 0))
      fail(section, key, *v, "expected a time from 00:00 to 24:00");
    out = h * 60 + m;
  }

  void closed_dates(const std::string& section, const std::string& key,
                    std::vector<closed_range>& out) {
    auto v = ini_.find(section, key);
    if (!v)
      return;
    std::vector<std::string> items;
    list(section, key, items);
    out.clear();
    for (auto& item : items) {
      auto dots = item.find("..");
      auto from = item.substr(0, dots);
      auto to = dots == std::string::npos ? from : item.substr(dots + 2);
      closed_range r;
      if (!month_day(from, r.from_month, r.from_day) || !month_day(to, r.to_month, r.to_day))
        fail(section, key, *v, "expected MM-DD or MM-DD..MM-DD items, comma separated");
      out.push_back(r);
    }
  }

  [[noreturn]] void fail(const std::string& section, const std::string& key, const ini_value& v,
                         const std::string& why) {
    throw config_error(ini_.origin() + ":" + std::to_string(v.line) + ": " + section + "." + key
                       + ": " + why);
  }

private:
  static bool isdigit(char c) {
    return c >= '0' && c <= '9';
  }

  static bool month_day(const std::string& s, uint8_t& month, uint8_t& day) {
    if (s.size() != 5 || s[2] != '-' || !isdigit(s[0]) || !isdigit(s[1]) || !isdigit(s[3])
        || !isdigit(s[4]))
      return false;
    month = static_cast<uint8_t>((s[0] - '0') * 10 + (s[1] - '0'));
    day = static_cast<uint8_t>((s[3] - '0') * 10 + (s[4] - '0'));
    return month >= 1 && month <= 12 && day >= 1 && day <= 31;
  }

  ini_file& ini_;
};

void read_tokens(ini_file& ini, reader& r, std::vector<admin_token>& out) {
  for (auto& section : ini.sections_with_prefix("token")) {
    admin_token t;
    t.name = section.substr(6);
    r.string(section, "sha256", t.sha256_hex);
    std::string role = "viewer";
    r.string(section, "role", role);
    if (role == "viewer")
      t.role = admin_role::viewer;
    else if (role == "operator")
      t.role = admin_role::operator_;
    else
      throw config_error(ini.origin() + ": " + section + ".role: expected viewer or operator");
    if (t.sha256_hex.size() != 64
        || t.sha256_hex.find_first_not_of("0123456789abcdef") != std::string::npos)
      throw config_error(ini.origin() + ": " + section
                         + ".sha256: expected the token's SHA-256 as 64 lowercase hex digits");
    out.push_back(std::move(t));
  }
}

void require(bool ok, const std::string& key, const std::string& why) {
  if (!ok)
    throw config_error("config: " + key + ": " + why);
}

} // namespace

node_config parse_config(const std::string& text, const std::string& origin) {
  auto ini = ini_file::parse(text, origin);
  reader r(ini);
  node_config c;
  r.string("node", "data_dir", c.node.data_dir);
  r.string("node", "master_key_file", c.node.master_key_file);
  r.string("node", "ports_file", c.node.ports_file);
  r.string("node", "municipality_code", c.node.municipality_code);
  r.string("node", "city_name", c.node.city_name);
  r.string("node", "mayor_name", c.node.mayor_name);
  r.string("node", "prefecture_tax_word", c.node.prefecture_tax_word);
  r.string("node", "time_zone", c.node.time_zone);
  r.boolean("node", "key_file_checks", c.node.key_file_checks);

  r.listen("center", "listen", c.center.listen);
  r.string("center", "tls_cert_file", c.center.tls.cert_file);
  r.string("center", "tls_key_file", c.center.tls.key_file);
  r.string("center", "client_ca_file", c.center.client_ca_file);
  r.list("center", "client_fingerprints_sha256", c.center.client_fingerprints_sha256);
  r.number("center", "idle_timeout_ms", c.center.idle_timeout_ms, 100, 3'600'000);
  r.number("center", "read_timeout_ms", c.center.read_timeout_ms, 100, 600'000);
  r.number("center", "connections_max", c.center.connections_max, 1, 100'000);

  r.listen("admin", "listen", c.admin.listen);
  r.boolean("admin", "tls", c.admin.tls);
  r.string("admin", "tls_cert_file", c.admin.tls_files_.cert_file);
  r.string("admin", "tls_key_file", c.admin.tls_files_.key_file);
  r.number("admin", "idle_timeout_ms", c.admin.idle_timeout_ms, 100, 3'600'000);
  r.number("admin", "read_timeout_ms", c.admin.read_timeout_ms, 100, 3'600'000);
  r.number("admin", "feed_upload_bytes_max", c.admin.feed_upload_bytes_max, 1024);

  read_tokens(ini, r, c.tokens);

  r.number("issuance", "deadline_ms", c.issuance.deadline_ms, 10, 600'000);
  r.number("issuance", "redelivery_window_s", c.issuance.redelivery_window_s, 0, 86'400);
  r.number("issuance", "sessions_max", c.issuance.sessions_max, 1, 100'000);
  r.number("issuance", "commit_interval_us", c.issuance.commit_interval_us, 0, 100'000);

  r.clock_minute("service", "open", c.service.open_minute);
  r.clock_minute("service", "close", c.service.close_minute);
  r.closed_dates("service", "closed_dates", c.service.closed_dates);

  r.number("render", "workers", c.render.workers, 0, 256);
  r.number("render", "queue_max", c.render.queue_max, 1, 100'000);
  r.boolean("render", "specimen", c.render.specimen);
  r.string("render", "seal_png_file", c.render.seal_png_file);
  r.string("render", "body_font_file", c.render.body_font_file);
  r.string("render", "fallback_font_file", c.render.fallback_font_file);

  r.number("retention", "fiscal_years", c.retention.fiscal_years, 1, 10);
  r.number("retention", "resident_days", c.retention.resident_days, 0, 36'500);
  r.number("retention", "audit_days", c.retention.audit_days, 1, 36'500);

  r.string("feeds", "inbox_dir", c.feeds.inbox_dir);
  r.number("feeds", "inbox_poll_ms", c.feeds.inbox_poll_ms, 0, 3'600'000);

  r.number("supervisor", "restarts_max", c.supervisor.restarts_max, 0, 1'000);
  r.number("supervisor", "restart_window_s", c.supervisor.restart_window_s, 1, 86'400);

  ini.reject_unused();
  if (c.admin.tls_files_.cert_file.empty())
    c.admin.tls_files_ = c.center.tls;
  validate(c);
  return c;
}

node_config load_config(const std::string& path) {
  return parse_config(ini_file::read_text(path), path);
}

void validate(const node_config& c) {
  require(!c.node.data_dir.empty(), "node.data_dir", "must not be empty");
  require(!c.node.master_key_file.empty(), "node.master_key_file", "must not be empty");
  require(valid_municipality_code(c.node.municipality_code), "node.municipality_code",
          "must be 6 digits whose last is the check digit of the first five");
  require(!c.node.city_name.empty(), "node.city_name", "must not be empty");
  require(!c.node.mayor_name.empty(), "node.mayor_name", "must not be empty");
  auto& w = c.node.prefecture_tax_word;
  require(w == "都民税" || w == "道民税" || w == "府民税" || w == "県民税",
          "node.prefecture_tax_word", "must be 都民税, 道民税, 府民税 or 県民税");
  require(c.node.time_zone == "Asia/Tokyo", "node.time_zone", "only Asia/Tokyo is supported");
  require(!c.center.tls.cert_file.empty(), "center.tls_cert_file", "must be set");
  require(!c.center.tls.key_file.empty(), "center.tls_key_file", "must be set");
  require(!c.center.client_ca_file.empty(), "center.client_ca_file",
          "must be set: mutual TLS is mandatory");
  for (auto& fp : c.center.client_fingerprints_sha256) {
    std::string hex;
    for (char ch : fp)
      if (ch != ':')
        hex += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    require(hex.size() == 64 && hex.find_first_not_of("0123456789abcdef") == std::string::npos,
            "center.client_fingerprints_sha256", "each entry must be a SHA-256 in hex");
  }
  require(c.admin.tls || is_loopback(c.admin.listen.host), "admin.tls",
          "plain HTTP is allowed only when admin.listen is a loopback address");
  require(c.service.open_minute < c.service.close_minute, "service.open",
          "must be before service.close");
  require(!c.render.seal_png_file.empty(), "render.seal_png_file", "must be set");
  for (size_t i = 0; i < c.tokens.size(); ++i)
    for (size_t j = i + 1; j < c.tokens.size(); ++j)
      require(c.tokens[i].sha256_hex != c.tokens[j].sha256_hex, "token." + c.tokens[j].name,
              "has the same hash as token." + c.tokens[i].name);
}

bool valid_municipality_code(const std::string& code) {
  if (code.size() != 6)
    return false;
  for (char ch : code)
    if (ch < '0' || ch > '9')
      return false;
  static constexpr int weights[] = {6, 5, 4, 3, 2};
  int sum = 0;
  for (int i = 0; i < 5; ++i)
    sum += (code[i] - '0') * weights[i];
  return (code[5] - '0') == (11 - sum % 11) % 10;
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

} // namespace kofu::config
