#pragma once

// A whole kofud node for integration tests: a temp dir set up by scripts/dev-setup.sh, synthetic
// feeds from kofu-feedgen, the daemon started with fork/exec on ports 0 (ports.json), feeds loaded
// through the admin interface, and helpers to issue certificates over mutual TLS.
// Everything is hermetic: temp dirs, port 0, polling with bounds instead of sleeps.

// The tests build options with designated initializers that leave the other members at their
// defaults on purpose.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <atomic>
#include <chrono>
#include <tuple>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <sys/types.h>

#include <nlohmann/json.hpp>

#include "net/http_client.hpp"

namespace kofu::it {

using json = nlohmann::json;
using net::header_list;
using net::http_client;
using net::http_client_options;
using net::http_client_response;

// -- small utilities -----------------------------------------------------------------------------

std::string read_file(const std::string& path);
/// The feed text with its header's sequence replaced.
std::string with_sequence(std::string feed, int sequence);
void write_file(const std::string& path, const std::string& text);
/// Runs a shell command; returns its exit status, stdout in `out` when given.
int run_command(const std::string& cmd, std::string* out = nullptr);
std::string sha256_base64(std::string_view data);
std::string sha256_hex(std::string_view data);
/// Today's date in Asia/Tokyo as YYYY-MM-DD.
std::string today_jst();
/// The text of a PDF (poppler-cpp, all pages); empty when it does not parse.
std::string pdf_text(const std::string& pdf);
/// The text of a PDF through the pdftotext command (as a machine at the center would check it).
std::string pdftotext(const std::string& pdf, const std::string& tmp_dir);
/// `text` with every kind of white space (ASCII and U+3000) removed.
std::string squeeze(const std::string& text);

/// The words of a text separated by U+3000 or ASCII spaces (a name's surname and given name: the
/// certificate places them apart, so text extraction need not keep them together).
std::vector<std::string> words(const std::string& text);
/// Every word of `name` is in `text` (squeezed).
bool has_name(const std::string& flat_text, const std::string& name);

/// Splits one RFC 4180 CSV line into fields.
std::vector<std::string> split_csv(const std::string& line);

// -- the synthetic population --------------------------------------------------------------------

struct person {
  size_t index = 0; // position in the residents feed
  std::string raw_line; // the residents feed's line as written
  std::string code, name, name_kana, birth_date, address, status, hold;
  bool has_tax = false;
  std::string address_jan1, declaration;
  std::string total_tax;

  bool active() const { return status == "active"; }
  /// Active, no registry hold, a filed or dependent declaration for the year.
  bool issuable() const {
    return active() && hold.empty() && has_tax && declaration != "not_filed";
  }
  /// A name drawn with the main font only (no variation selectors, no rare kanji).
  bool plain_name() const;
};

struct population {
  std::vector<person> persons;
  std::string residents_header, residents_columns;

  void load(const std::string& residents_csv, const std::string& tax_csv);
  /// The first persons satisfying `pred`, skipping `skip` of them; throws when too few.
  std::vector<person> pick(const std::function<bool(const person&)>& pred, size_t n,
                           size_t skip = 0) const;
  person one(const std::function<bool(const person&)>& pred) const { return pick(pred, 1)[0]; }
};

// -- the node ------------------------------------------------------------------------------------

struct node_options {
  /// Residents in the residents feed; tax records for the first `tax_count` of them (-1: all).
  int count = 200;
  int tax_count = -1;
  uint64_t seed = 1;
  /// kofu.conf edits: {section, key, value}.
  std::vector<std::tuple<std::string, std::string, std::string>> conf;
  bool start = true;
  bool load_feeds = true; // both feeds (needs start)
  bool rollover = true;   // open fiscal year 2025 (needs load_feeds)
};

struct issue_params {
  std::string request_id;
  std::string resident_code;
  std::string municipality_code = "272051";
  std::string certificate_type = "income_tax";
  std::optional<int> fiscal_year = 2025;
  std::string store_code = "S0001234";
  std::string terminal_id = "T01";
  std::string requested_at = "2026-11-28T10:15:00+09:00";
};

std::string issue_body(const issue_params& p);

class node {
public:
  explicit node(node_options options = {});
  ~node();
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  /// Starts kofud and waits (bounded) for ports.json; throws with the log's tail on failure.
  void start();
  /// SIGTERM, then waits (SIGKILL after a bound). Returns the exit status (-1 when killed).
  int stop();
  bool running() const { return pid_ > 0; }
  /// kill -9: the process dies wherever it is.
  void crash();
  /// kofud is still alive (not exited).
  bool alive();

  /// Edits kofu.conf: sets `key = value` in `[section]`.
  void set_conf(const std::string& section, const std::string& key, const std::string& value);

  const std::string& dir() const { return dir_; }
  uint16_t center_port() const { return center_port_; }
  uint16_t admin_port() const { return admin_port_; }
  const std::string& operator_token() const { return operator_token_; }
  const std::string& viewer_token() const { return viewer_token_; }
  const population& people() const { return people_; }
  std::string log() const;
  std::string feeds_dir() const { return dir_ + "/feeds"; }

  /// Client options for the center interface; `who` is "center", "stranger" or "" (no cert).
  http_client_options center_options(const std::string& who = "center") const;
  http_client_options admin_options() const;

  /// One admin request on a fresh connection; `token` may be empty.
  http_client_response admin(const std::string& method, const std::string& target,
                             const std::string& token, const std::string& body = {},
                             const std::string& content_type = {});
  json admin_json(const std::string& method, const std::string& target,
                  const std::string& body = {}, unsigned expected = 200);

  /// Uploads a feed (text/csv); returns the feed id.
  uint64_t upload_feed(const std::string& feed_text);
  /// Polls the feed until applied or rejected (bounded); returns its status JSON.
  json wait_feed(uint64_t feed_id, std::chrono::milliseconds bound = std::chrono::seconds(60));
  /// Uploads and waits; REQUIREs the state.
  json load_feed(const std::string& feed_text, const std::string& state = "applied");
  void load_generated_feeds();
  json rollover(int fiscal_year = 2025);

  /// POST /center/v1/issuances on `client`.
  http_client_response issue(http_client& client, const issue_params& p);
  /// Same, on a fresh connection.
  http_client_response issue(const issue_params& p);
  http_client_response outcome(http_client& client, const std::string& request_id,
                               const std::string& outcome);

  /// A request id unique within this node's life.
  std::string next_request_id(const std::string& prefix = "C");

  /// Audit entries (GET /admin/v1/audit?request_id=).
  json audit_for(const std::string& request_id);
  /// Polls the audit entries of a request until `pred(entries)` holds (bounded: the audit log is
  /// written asynchronously); returns whether it came to hold.
  bool wait_audit(const std::string& request_id, const std::function<bool(const json&)>& pred,
                  std::chrono::milliseconds bound = std::chrono::seconds(10));

private:
  void run_setup();
  void generate_feeds();

  node_options options_;
  std::string dir_;
  pid_t pid_ = -1;
  uint16_t center_port_ = 0, admin_port_ = 0;
  std::string operator_token_, viewer_token_;
  population people_;
  uint64_t request_counter_ = 0;
};

/// Releases N threads at once (C++20 has std::barrier; this one spins on an atomic for tightness).
class start_gate {
public:
  explicit start_gate(int parties) : parties_(parties) {}
  /// Returns false once abort() was called (a party failed and will not come).
  bool arrive_and_wait();
  void abort() { aborted_ = true; }

private:
  std::atomic<bool> aborted_{false};
  std::atomic<int> arrived_{0};
  std::atomic<uint64_t> generation_{0};
  int parties_;
};

} // namespace kofu::it
