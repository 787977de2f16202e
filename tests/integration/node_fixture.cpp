#include "node_fixture.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <poppler-document.h>
#include <poppler-page.h>

namespace kofu::it {

namespace fs = std::filesystem;

namespace {

std::string source_dir() {
  return KOFU_SOURCE_DIR;
}

std::string binary_dir() {
  return KOFU_BINARY_DIR;
}

std::string trim_line(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' '))
    s.pop_back();
  return s;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

/// Lines of a file without their line ends.
std::vector<std::string> lines_of(const std::string& path) {
  std::vector<std::string> out;
  std::istringstream in(read_file(path));
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    out.push_back(line);
  }
  return out;
}

} // namespace

// -- utilities -----------------------------------------------------------------------------------

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string with_sequence(std::string feed, int sequence) {
  static const std::regex seq(R"(sequence=\d+)");
  auto eol = feed.find('\n');
  auto header = std::regex_replace(feed.substr(0, eol), seq,
                                   "sequence=" + std::to_string(sequence));
  return header + feed.substr(eol);
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out)
    throw std::runtime_error("cannot write " + path);
}

int run_command(const std::string& cmd, std::string* out) {
  FILE* p = popen(cmd.c_str(), "r");
  if (!p)
    throw std::runtime_error("popen failed: " + cmd);
  std::array<char, 65536> buf;
  std::string text;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0)
    text.append(buf.data(), n);
  int rc = pclose(p);
  if (out)
    *out = std::move(text);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

std::string sha256_base64(std::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  unsigned char b64[64];
  int n = EVP_EncodeBlock(b64, md, sizeof md);
  return std::string(reinterpret_cast<char*>(b64), static_cast<size_t>(n));
}

std::string sha256_hex(std::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (auto c : md) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string today_jst() {
  std::time_t t = std::time(nullptr) + 9 * 3600;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

std::string pdf_text(const std::string& pdf) {
  std::vector<char> data(pdf.begin(), pdf.end());
  std::unique_ptr<poppler::document> doc(poppler::document::load_from_raw_data(
    data.data(), static_cast<int>(data.size())));
  if (!doc)
    return {};
  std::string out;
  for (int i = 0; i < doc->pages(); ++i) {
    std::unique_ptr<poppler::page> page(doc->create_page(i));
    if (!page)
      continue;
    auto bytes = page->text().to_utf8();
    out.append(bytes.begin(), bytes.end());
    out += '\n';
  }
  return out;
}

std::string pdftotext(const std::string& pdf, const std::string& tmp_dir) {
  static std::atomic<int> counter{0};
  auto path = tmp_dir + "/cert-" + std::to_string(counter.fetch_add(1)) + ".pdf";
  write_file(path, pdf);
  std::string out;
  int rc = run_command("pdftotext -enc UTF-8 " + shell_quote(path) + " - 2>/dev/null", &out);
  fs::remove(path);
  if (rc != 0)
    return {};
  return out;
}

std::string squeeze(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f')
      continue;
    if (c == 0xE3 && i + 2 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0x80
        && static_cast<unsigned char>(text[i + 2]) == 0x80) {
      i += 2; // U+3000
      continue;
    }
    out += text[i];
  }
  return out;
}

std::vector<std::string> words(const std::string& text) {
  std::vector<std::string> out;
  std::string word;
  for (size_t i = 0; i < text.size(); ++i) {
    bool ideographic_space = i + 2 < text.size() && static_cast<unsigned char>(text[i]) == 0xE3
                             && static_cast<unsigned char>(text[i + 1]) == 0x80
                             && static_cast<unsigned char>(text[i + 2]) == 0x80;
    if (text[i] == ' ' || ideographic_space) {
      if (!word.empty())
        out.push_back(std::move(word));
      word.clear();
      if (ideographic_space)
        i += 2;
      continue;
    }
    word += text[i];
  }
  if (!word.empty())
    out.push_back(std::move(word));
  return out;
}

bool has_name(const std::string& flat_text, const std::string& name) {
  auto w = words(name);
  if (w.empty())
    return false;
  for (auto& x : w)
    if (flat_text.find(x) == std::string::npos)
      return false;
  return true;
}

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> out;
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < line.size() && line[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.push_back(std::move(field));
      field.clear();
    } else {
      field += c;
    }
  }
  out.push_back(std::move(field));
  return out;
}

// -- population ----------------------------------------------------------------------------------

bool person::plain_name() const {
  // No variation selectors (U+E01xx: F3 A0 84..87 in UTF-8) and no supplementary-plane kanji.
  for (unsigned char c : name)
    if (c >= 0xF0)
      return false;
  return true;
}

void population::load(const std::string& residents_csv, const std::string& tax_csv) {
  persons.clear();
  auto res = lines_of(residents_csv);
  if (res.size() < 3)
    throw std::runtime_error("short residents feed " + residents_csv);
  residents_header = res[0];
  residents_columns = res[1];
  auto cols = split_csv(res[1]);
  auto col = [&](const std::vector<std::string>& names, const std::string& n) {
    for (size_t i = 0; i < names.size(); ++i)
      if (names[i] == n)
        return i;
    throw std::runtime_error("no column " + n);
  };
  std::map<std::string, size_t> by_code;
  for (size_t i = 2; i < res.size(); ++i) {
    if (res[i].starts_with("#END"))
      break;
    auto f = split_csv(res[i]);
    person p;
    p.index = persons.size();
    p.raw_line = res[i];
    p.code = f.at(col(cols, "resident_code"));
    p.name = f.at(col(cols, "name"));
    p.name_kana = f.at(col(cols, "name_kana"));
    p.birth_date = f.at(col(cols, "birth_date"));
    p.address = f.at(col(cols, "address"));
    p.status = f.at(col(cols, "status"));
    p.hold = f.at(col(cols, "hold"));
    by_code[p.code] = persons.size();
    persons.push_back(std::move(p));
  }
  auto tax = lines_of(tax_csv);
  auto tcols = split_csv(tax.at(1));
  for (size_t i = 2; i < tax.size(); ++i) {
    if (tax[i].starts_with("#END"))
      break;
    auto f = split_csv(tax[i]);
    auto it = by_code.find(f.at(col(tcols, "resident_code")));
    if (it == by_code.end())
      continue;
    auto& p = persons[it->second];
    p.has_tax = true;
    p.address_jan1 = f.at(col(tcols, "address_jan1"));
    p.declaration = f.at(col(tcols, "declaration"));
    p.total_tax = f.at(col(tcols, "total_tax"));
  }
}

std::vector<person> population::pick(const std::function<bool(const person&)>& pred, size_t n,
                                     size_t skip) const {
  std::vector<person> out;
  for (auto& p : persons) {
    if (!pred(p))
      continue;
    if (skip > 0) {
      --skip;
      continue;
    }
    out.push_back(p);
    if (out.size() == n)
      return out;
  }
  throw std::runtime_error("the population has too few persons of the kind asked for");
}

// -- the node ------------------------------------------------------------------------------------

std::string issue_body(const issue_params& p) {
  json j = {{"request_id", p.request_id},
            {"municipality_code", p.municipality_code},
            {"certificate_type", p.certificate_type},
            {"resident_code", p.resident_code},
            {"kiosk", {{"store_code", p.store_code}, {"terminal_id", p.terminal_id}}},
            {"requested_at", p.requested_at}};
  if (p.fiscal_year)
    j["fiscal_year"] = *p.fiscal_year;
  return j.dump();
}

node::node(node_options options) : options_(std::move(options)) {
  auto base = fs::temp_directory_path() / "kofu-it-XXXXXX";
  std::string templ = base.string();
  if (!mkdtemp(templ.data()))
    throw std::runtime_error("mkdtemp failed");
  dir_ = templ;
  try {
    run_setup();
    for (auto& [section, key, value] : options_.conf)
      set_conf(section, key, value);
    generate_feeds();
    if (options_.start) {
      start();
      if (options_.load_feeds) {
        load_generated_feeds();
        if (options_.rollover)
          rollover(2025);
      }
    }
  } catch (...) {
    if (pid_ > 0)
      stop();
    std::error_code ec;
    fs::remove_all(dir_, ec);
    throw;
  }
}

node::~node() {
  if (pid_ > 0)
    stop();
  if (std::getenv("KOFU_IT_KEEP") == nullptr) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

void node::run_setup() {
  std::string out;
  int rc = run_command(shell_quote(source_dir() + "/scripts/dev-setup.sh") + " " + shell_quote(dir_)
                         + " 2>&1",
                       &out);
  if (rc != 0)
    throw std::runtime_error("dev-setup.sh failed: " + out);
  operator_token_ = trim_line(read_file(dir_ + "/operator.token"));
  viewer_token_ = trim_line(read_file(dir_ + "/viewer.token"));
}

void node::generate_feeds() {
  auto gen = binary_dir() + "/tools/feedgen/kofu-feedgen";
  auto out_dir = feeds_dir();
  fs::create_directories(out_dir);
  std::string out;
  auto base = shell_quote(gen) + " --seed " + std::to_string(options_.seed) + " --fiscal-year 2025";
  int rc = run_command(base + " --kind residents --count " + std::to_string(options_.count)
                         + " --out " + shell_quote(out_dir) + " 2>&1",
                       &out);
  if (rc != 0)
    throw std::runtime_error("kofu-feedgen failed: " + out);
  int tax_count = options_.tax_count < 0 ? options_.count : options_.tax_count;
  rc = run_command(base + " --kind tax --count " + std::to_string(tax_count) + " --out "
                     + shell_quote(out_dir) + " 2>&1",
                   &out);
  if (rc != 0)
    throw std::runtime_error("kofu-feedgen failed: " + out);
  people_.load(out_dir + "/residents.csv", out_dir + "/tax-2025.csv");
}

void node::set_conf(const std::string& section, const std::string& key, const std::string& value) {
  auto path = dir_ + "/kofu.conf";
  auto lines = lines_of(path);
  bool in_section = false, done = false;
  for (auto& line : lines) {
    if (line.starts_with("[")) {
      in_section = line == "[" + section + "]";
      continue;
    }
    if (in_section && !done && (line.starts_with(key + " =") || line.starts_with(key + "="))) {
      line = key + " = " + value;
      done = true;
    }
  }
  if (!done)
    throw std::runtime_error("kofu.conf has no " + section + "." + key);
  std::string text;
  for (auto& l : lines)
    text += l + "\n";
  write_file(path, text);
}

bool node::alive() {
  if (pid_ <= 0)
    return false;
  int status = 0;
  auto r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

std::string node::log() const {
  try {
    return read_file(dir_ + "/kofud.log");
  } catch (...) {
    return {};
  }
}

void node::start() {
  if (pid_ > 0)
    throw std::logic_error("kofud runs already");
  auto ports = dir_ + "/ports.json";
  fs::remove(ports);
  auto exe = binary_dir() + "/apps/kofud";
  auto conf = dir_ + "/kofu.conf";
  auto log_path = dir_ + "/kofud.log";
  pid_t pid = fork();
  if (pid < 0)
    throw std::runtime_error("fork failed");
  if (pid == 0) {
    int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0)
      dup2(devnull, 0);
    execl(exe.c_str(), exe.c_str(), "--config", conf.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  pid_ = pid;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  static const std::regex ports_re(R"re(\{\s*"center"\s*:\s*(\d+)\s*,\s*"admin"\s*:\s*(\d+)\s*\})re");
  while (std::chrono::steady_clock::now() < deadline) {
    if (!alive())
      throw std::runtime_error("kofud exited at start:\n" + log());
    std::error_code ec;
    if (fs::exists(ports, ec)) {
      std::smatch m;
      auto text = read_file(ports);
      if (std::regex_search(text, m, ports_re)) {
        center_port_ = static_cast<uint16_t>(std::stoi(m[1]));
        admin_port_ = static_cast<uint16_t>(std::stoi(m[2]));
        return;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop();
  throw std::runtime_error("kofud wrote no ports.json in time:\n" + log());
}

int node::stop() {
  if (pid_ <= 0)
    return -1;
  kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return -1;
}

void node::crash() {
  if (pid_ <= 0)
    return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

http_client_options node::center_options(const std::string& who) const {
  http_client_options o;
  o.host = "127.0.0.1";
  o.port = center_port_;
  o.tls = true;
  o.ca_file = dir_ + "/ca.crt";
  if (!who.empty()) {
    o.cert_file = dir_ + "/" + who + ".crt";
    o.key_file = dir_ + "/" + who + ".key";
  }
  o.timeout_ms = 30'000;
  return o;
}

http_client_options node::admin_options() const {
  http_client_options o;
  o.host = "127.0.0.1";
  o.port = admin_port_;
  o.tls = false;
  o.timeout_ms = 60'000;
  return o;
}

http_client_response node::admin(const std::string& method, const std::string& target,
                                 const std::string& token, const std::string& body,
                                 const std::string& content_type) {
  http_client c(admin_options());
  header_list h;
  if (!token.empty())
    h.push_back({"Authorization", "Bearer " + token});
  if (!content_type.empty())
    h.push_back({"Content-Type", content_type});
  else if (!body.empty())
    h.push_back({"Content-Type", "application/json"});
  return c.request(method, target, h, body);
}

json node::admin_json(const std::string& method, const std::string& target,
                      const std::string& body, unsigned expected) {
  auto token = method == "GET" ? viewer_token_ : operator_token_;
  auto r = admin(method, target, token, body);
  INFO(method << " " << target << " -> " << r.status << " " << r.body);
  REQUIRE(r.status == expected);
  if (r.body.empty())
    return json();
  return json::parse(r.body);
}

uint64_t node::upload_feed(const std::string& feed_text) {
  auto r = admin("POST", "/admin/v1/feeds", operator_token_, feed_text, "text/csv");
  INFO("upload -> " << r.status << " " << r.body);
  REQUIRE(r.status == 202);
  return json::parse(r.body).at("feed_id").get<uint64_t>();
}

json node::wait_feed(uint64_t feed_id, std::chrono::milliseconds bound) {
  auto deadline = std::chrono::steady_clock::now() + bound;
  json last;
  while (std::chrono::steady_clock::now() < deadline) {
    last = admin_json("GET", "/admin/v1/feeds/" + std::to_string(feed_id));
    auto state = last.value("state", "");
    if (state == "applied" || state == "rejected")
      return last;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  FAIL("feed " << feed_id << " did not finish in time: " << last.dump());
  return last;
}

json node::load_feed(const std::string& feed_text, const std::string& state) {
  auto id = upload_feed(feed_text);
  auto s = wait_feed(id);
  INFO("feed " << id << ": " << s.dump());
  REQUIRE(s.value("state", "") == state);
  return s;
}

void node::load_generated_feeds() {
  load_feed(read_file(feeds_dir() + "/residents.csv"));
  load_feed(read_file(feeds_dir() + "/tax-2025.csv"));
}

json node::rollover(int fiscal_year) {
  return admin_json("POST", "/admin/v1/rollover",
                    json{{"fiscal_year", fiscal_year}}.dump());
}

http_client_response node::issue(http_client& client, const issue_params& p) {
  return client.request("POST", "/center/v1/issuances",
                        {{"Content-Type", "application/json"}}, issue_body(p));
}

http_client_response node::issue(const issue_params& p) {
  http_client c(center_options());
  return issue(c, p);
}

http_client_response node::outcome(http_client& client, const std::string& request_id,
                                   const std::string& outcome) {
  json j = {{"outcome", outcome}, {"reported_at", "2026-11-28T10:15:40+09:00"}};
  return client.request("POST", "/center/v1/issuances/" + request_id + "/outcome",
                        {{"Content-Type", "application/json"}}, j.dump());
}

std::string node::next_request_id(const std::string& prefix) {
  // Unique across restarts of the same data dir too: time in the id.
  auto t = std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
             .count();
  return prefix + std::to_string(t) + "-" + std::to_string(++request_counter_);
}

json node::audit_for(const std::string& request_id) {
  return admin_json("GET", "/admin/v1/audit?request_id=" + request_id).at("entries");
}

bool node::wait_audit(const std::string& request_id, const std::function<bool(const json&)>& pred,
                      std::chrono::milliseconds bound) {
  auto deadline = std::chrono::steady_clock::now() + bound;
  for (;;) {
    auto entries = audit_for(request_id);
    if (pred(entries))
      return true;
    if (std::chrono::steady_clock::now() > deadline) {
      UNSCOPED_INFO("audit entries of " << request_id << ": " << entries.dump());
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

bool start_gate::arrive_and_wait() {
  auto gen = generation_.load();
  if (arrived_.fetch_add(1) + 1 == parties_) {
    arrived_.store(0);
    generation_.fetch_add(1);
    return !aborted_;
  }
  while (generation_.load() == gen && !aborted_)
    std::this_thread::yield();
  return !aborted_;
}

} // namespace kofu::it
