#pragma once

// kofu's configuration: one struct per section of the config file, defaults in the structs, units
// in the names. `load_config` reads the INI file, `validate` stops startup with a message naming the
// key. docs/CONFIG.md is the reference; keep both in step.

#include <cstdint>
#include <string>
#include <vector>

#include "config/ini.hpp"

namespace kofu::config {

/// An `address:port` to listen on; port 0 takes a free port (written to node.ports_file).
struct listen_address {
  std::string host;
  uint16_t port = 0;
};

struct node_section {
  std::string data_dir = "/var/lib/kofu";
  std::string master_key_file = "/etc/kofu/master.key";
  /// Where the node writes `{"center": port, "admin": port}` once it listens; empty: nowhere.
  std::string ports_file;
  std::string municipality_code = "272051";
  std::string city_name = "吹田市";
  std::string mayor_name;
  /// The prefecture's own word for its inhabitant tax: 都民税, 道民税, 府民税 or 県民税.
  std::string prefecture_tax_word = "府民税";
  /// The service's time zone; only Asia/Tokyo (UTC+09:00, no daylight saving) is supported.
  std::string time_zone = "Asia/Tokyo";
  /// Skip the master-key file's owner and mode check (tests that run as another user only).
  bool key_file_checks = true;
};

struct tls_files {
  std::string cert_file;
  std::string key_file;
};

struct center_section {
  listen_address listen{"0.0.0.0", 8443};
  tls_files tls;
  /// The CA that client certificates of the center must chain to.
  std::string client_ca_file;
  /// Optional allow-list of client certificate SHA-256 fingerprints (hex, colons allowed).
  std::vector<std::string> client_fingerprints_sha256;
  uint32_t idle_timeout_ms = 30'000;
  uint32_t read_timeout_ms = 5'000;
  uint32_t connections_max = 512;
};

struct admin_section {
  listen_address listen{"127.0.0.1", 9443};
  /// false: plain HTTP, allowed only on a loopback address.
  bool tls = true;
  /// Defaults to the center's server certificate.
  tls_files tls_files_;
  uint32_t idle_timeout_ms = 30'000;
  uint32_t read_timeout_ms = 30'000;
  /// Largest streamed feed upload.
  uint64_t feed_upload_bytes_max = 4ull << 30;
};

enum class admin_role { viewer, operator_ };

/// One admin token: the config holds only its SHA-256, never the token.
struct admin_token {
  std::string name;
  std::string sha256_hex;
  admin_role role = admin_role::viewer;
};

struct issuance_section {
  uint32_t deadline_ms = 5'000;
  uint32_t redelivery_window_s = 300;
  /// Live issuance sessions at most; past it requests get 503 overloaded at once.
  uint32_t sessions_max = 1'024;
  /// Least time between the starts of two group commits of the audit log (its fsyncs); 0: each
  /// starts as soon as the one before ends.
  uint32_t commit_interval_us = 2'000;
};

/// A closed date range in month-day form, inclusive, may wrap the year (12-29..01-03).
struct closed_range {
  uint8_t from_month = 0, from_day = 0, to_month = 0, to_day = 0;
};

struct service_section {
  /// Minutes after local midnight: 06:30 -> 390; close may be 24:00 (1440).
  uint32_t open_minute = 6 * 60 + 30;
  uint32_t close_minute = 23 * 60;
  std::vector<closed_range> closed_dates{{12, 29, 1, 3}};
};

struct render_section {
  /// Worker count; 0 means the number of cores.
  uint32_t workers = 0;
  uint32_t queue_max = 256;
  /// Print the 「見本」 specimen mark; only a production config turns it off.
  bool specimen = true;
  std::string seal_png_file;
  std::string body_font_file = "/usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf";
  std::string fallback_font_file = "/usr/share/fonts/truetype/ipamj/ipamjm.ttf";
};

struct retention_section {
  uint32_t fiscal_years = 1;
  uint32_t resident_days = 0;
  uint32_t audit_days = 1'827;
};

struct feeds_section {
  /// Folder the node watches for feed files; empty: no inbox.
  std::string inbox_dir;
  /// 0: the inbox is not watched, its files are loaded when named by POST /admin/v1/feeds.
  uint32_t inbox_poll_ms = 0;
};

struct supervisor_section {
  /// Restarts of one actor allowed within the window; past it the node stops.
  uint32_t restarts_max = 5;
  uint32_t restart_window_s = 60;
};

struct node_config {
  node_section node;
  center_section center;
  admin_section admin;
  std::vector<admin_token> tokens;
  issuance_section issuance;
  service_section service;
  render_section render;
  retention_section retention;
  feeds_section feeds;
  supervisor_section supervisor;
};

/// Reads and validates a config file; throws config_error naming the file, line and key.
node_config load_config(const std::string& path);

/// Reads and validates config text (tests).
node_config parse_config(const std::string& text, const std::string& origin);

/// Checks cross-key rules; throws config_error naming the key.
void validate(const node_config& cfg);

/// True when `code` is 6 digits whose last is the check digit of the first five (JIS X 0402).
bool valid_municipality_code(const std::string& code);

/// True for 127.0.0.0/8, ::1 and `localhost`.
bool is_loopback(const std::string& host);

} // namespace kofu::config
