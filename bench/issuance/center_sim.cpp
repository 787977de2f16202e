// center_sim: the national issuance center, simulated against a running kofud (issue 5).
// docs/BENCH.md describes every figure; scripts/bench.sh starts the node and runs this.
//
//   center_sim --setup DIR --port N --residents FILE --tax FILE [options]
//     --connections C     mutual-TLS keep-alive connections (default 64)
//     --client async|threads  the load loop's client (default async): async multiplexes the C
//                         connections on one io_context run by T threads (async_load.hpp);
//                         threads is one thread per connection, each with its own synchronous
//                         net::http_client (the client before; kept for comparison)
//     --client-threads T  async: the io_context's threads (default 1)
//     --seconds S         the timed window of the load phase (default 10)
//     --requests-max N    ... and at most this many requests in it (default 50000)
//     --rounds R          rounds of each adversarial mode (default 10)
//     --phases LIST       comma list of load, rates, adversarial, ceiling (default load,
//                         adversarial, ceiling)
//     --rates R1,R2,...   the rates phase's offered rates, requests/s
//     --rate-seconds S    the rates phase's window at each rate (default 5)
//     --prefault-mb M     heap faulted in before the windows, for the PDFs they keep (default:
//                         64 KiB per request of --requests-max, or per answer of --overload's
//                         rounds, at most 4 GiB; 0: none)
//     --samples-csv PFX   write every answer of the load and ceiling windows to PFX + kofu.csv
//                         / ceiling.csv: connection, when it completed (ms into the window),
//                         latency (ms), status; to see how latency moves over a window
//     --overload          instead: every connection fires at once (R rounds, the next when every
//                         answer is in) against a node with a small issuance.sessions_max /
//                         render.queue_max, and the latency of the 503 overloaded answers is
//                         reported; --client picks the client here too
//
// DIR is a node setup made by scripts/dev-setup.sh (ca.crt, center.crt/.key, server.crt/.key,
// center.fingerprint); FILE are the residents and tax feeds that were loaded into the node (the
// expected name, kana, address and total income of every resident come from them, read with
// kofu's own feed parser). Every connection talks only to 127.0.0.1.
//
// Phases:
//  load         C connections (handshake and one warm-up request each before the window) send
//               requests for random issuable residents (active, no hold, a filed or dependent
//               declaration) back to back, until S seconds or N requests. Latency: from just
//               before the write of the request (or the reconnect before it) to the whole
//               response read. --client picks the client: async (default; the connections on T
//               threads) or threads (a thread and a net::http_client per connection). The
//               adversarial phase always uses one thread per connection.
//  rates        an open loop, for each rate R of --rates: requests scheduled at t0 + k/R over S
//               seconds, each sent on an idle connection of the C (warmed up as for load) or,
//               all busy, queued until one is free. Latency runs from the scheduled time, so the
//               wait in the harness counts; the service time (from the write) is reported too.
//               The closed loop of load can only show latency = C / throughput (Little's law);
//               this judges the p99 target at a given offered rate. Always the async client.
//  adversarial  burst: C requests for C different residents released together by a barrier;
//               repeat: every thread sends the same request_id (same content) at once, then once
//               more (redelivery): all answers must carry the same certificate number;
//               cancel: request written, connection closed at once, then the same request sent
//               again on a new connection; drop: the same with the close 0-30 ms after the write
//               (during processing or the response); afterwards one normal request per thread.
//  ceiling      an in-process net::http_server with the node's TLS files and mutual TLS
//               (require the client certificate, the same fingerprint allow-list, one I/O thread
//               as kofud's center listener) answering every POST with the bytes of one real
//               certificate from the load phase, hit by the same load loop: the transport's
//               throughput on this machine, and kofu's ratio to it.
// After the timed phases, EVERY returned PDF is checked: its text is extracted in process with
// poppler-cpp and must hold the requested resident's name, kana, address (1 January) and total
// income, with the name exactly once; whitespace (poppler turns U+3000 into spaces) and variation
// selectors are removed on both sides before comparing. A PDF that fails is a wrong certificate.

#include <algorithm>
#include <atomic>
#include <barrier>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <poppler-document.h>
#include <poppler-page.h>

#include "bench/issuance/async_load.hpp"
#include "bench/storage/bench_util.hpp"
#include "feed/parser.hpp"
#include "net/http_client.hpp"
#include "net/http_server.hpp"

using namespace kofu;
using kofu::bench::figure;
using kofu::bench::fmt;

namespace {

constexpr size_t connections_max = 1024;
constexpr uint64_t requests_max_limit = 1'000'000;
constexpr double seconds_max = 600;
constexpr int rounds_max = 1000;
constexpr unsigned client_threads_max = 16;
/// PDFs kept for the check after the window; the load loop stops early past this.
constexpr uint64_t kept_pdf_bytes_max = 4ull << 30;
constexpr uint32_t drop_delay_ms_max = 30;
constexpr double rate_max = 100'000;

// ---------------------------------------------------------------------------------------------
// Options

struct options {
  std::string setup, residents, tax;
  uint16_t port = 0;
  size_t connections = 64;
  double seconds = 10;
  uint64_t requests_max = 50'000;
  int rounds = 10;
  /// The load loop's client: asynchronous (async_load.hpp) or a thread per connection.
  bool async_client = true;
  unsigned client_threads = 1;
  bool load = true, adversarial = true, ceiling = true, overload = false, rates = false;
  /// The rates phase: offered requests/s, as given (the figures' names) and parsed.
  std::vector<std::string> rate_names;
  std::vector<double> rate_values;
  double rate_seconds = 5;
  /// kofud's pid: its CPU time over the window is reported (from /proc/PID/stat).
  int server_pid = 0;
  std::string samples_csv;
  /// Unset: enough for every PDF of a load window of requests_max requests.
  std::optional<size_t> prefault_mb;
};

/// A certificate of the generated feeds is about 50 KB; the prefault assumes a bit more per request.
constexpr uint64_t prefault_bytes_per_request = 64 * 1024;

bool parse(int argc, char** argv, options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--overload") {
      o.overload = true;
      continue;
    }
    if (i + 1 >= argc)
      return false;
    std::string v = argv[++i];
    if (a == "--setup") o.setup = v;
    else if (a == "--port") o.port = static_cast<uint16_t>(std::stoi(v));
    else if (a == "--residents") o.residents = v;
    else if (a == "--tax") o.tax = v;
    else if (a == "--connections") o.connections = std::stoul(v);
    else if (a == "--seconds") o.seconds = std::stod(v);
    else if (a == "--requests-max") o.requests_max = std::stoull(v);
    else if (a == "--rounds") o.rounds = std::stoi(v);
    else if (a == "--server-pid") o.server_pid = std::stoi(v);
    else if (a == "--prefault-mb") o.prefault_mb = std::stoul(v);
    else if (a == "--samples-csv") o.samples_csv = v;
    else if (a == "--client") {
      if (v != "async" && v != "threads")
        return false;
      o.async_client = v == "async";
    } else if (a == "--client-threads") o.client_threads = static_cast<unsigned>(std::stoul(v));
    else if (a == "--rate-seconds") o.rate_seconds = std::stod(v);
    else if (a == "--rates") {
      o.rate_names.clear();
      o.rate_values.clear();
      std::istringstream list(v);
      for (std::string r; std::getline(list, r, ',');) {
        if (r.empty())
          return false;
        size_t used = 0;
        auto value = std::stod(r, &used);
        if (used != r.size() || !(value > 0) || value > rate_max)
          return false;
        o.rate_names.push_back(r);
        o.rate_values.push_back(value);
      }
    } else if (a == "--phases") {
      o.load = v.find("load") != std::string::npos;
      o.rates = v.find("rates") != std::string::npos;
      o.adversarial = v.find("adversarial") != std::string::npos;
      o.ceiling = v.find("ceiling") != std::string::npos;
    } else return false;
  }
  if (o.rates && (o.rate_values.empty() || !(o.rate_seconds > 0) || o.rate_seconds > seconds_max))
    return false;
  return !o.setup.empty() && o.port != 0 && !o.residents.empty() && !o.tax.empty()
         && o.connections >= 1 && o.connections <= connections_max && o.seconds > 0
         && o.seconds <= seconds_max && o.requests_max >= 1 && o.requests_max <= requests_max_limit
         && o.rounds >= 1 && o.rounds <= rounds_max && o.client_threads >= 1
         && o.client_threads <= client_threads_max
         && o.prefault_mb.value_or(0) <= (kept_pdf_bytes_max >> 20);
}

/// Every PDF of a window is kept for the check after it, in memory that is new to the process:
/// the kernel's page faults and page clearing for it were about 12% of the harness's CPU in the
/// window (perf, rates at 2,000/s), CPU taken from the node on the same cores. So the heap is
/// grown and touched before the first window, and kept: one arena for all threads (the client's
/// thread allocates the bodies), no mmap for blocks below 32 MiB, no trimming.
void prefault_heap(size_t bytes) {
  constexpr size_t block = 1 << 20;
  mallopt(M_ARENA_MAX, 1);
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, static_cast<int>(std::min<size_t>(bytes + (64 << 20), INT_MAX)));
  std::vector<void*> blocks;
  for (size_t done = 0; done < bytes; done += block) {
    void* p = std::malloc(block);
    if (p == nullptr)
      break;
    explicit_bzero(p, block); // a store the compiler cannot drop, freed or not
    blocks.push_back(p);
  }
  for (auto i = blocks.rbegin(); i != blocks.rend(); ++i)
    std::free(*i);
}

// ---------------------------------------------------------------------------------------------
// The residents of the feeds, as the certificate must show them

/// Drops ASCII whitespace, U+3000 and variation selectors (U+FE00-FE0F, U+E0100-E01EF).
std::string normalize(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      ++i;
      continue;
    }
    size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    n = std::min(n, s.size() - i);
    auto seq = s.substr(i, n);
    bool skip = seq == "\u3000" || (n == 3 && seq >= "\uFE00" && seq <= "\uFE0F")
                || (n == 4 && seq >= "\U000E0100" && seq <= "\U000E01EF");
    if (!skip)
      out.append(seq);
    i += n;
  }
  return out;
}

std::string with_commas(int64_t v) {
  auto digits = std::to_string(v < 0 ? -v : v);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0)
      out.push_back(',');
    out.push_back(digits[i]);
  }
  return v < 0 ? "-" + out : out;
}

struct resident {
  std::string code;
  std::string name, kana, address, total_income; // normalized, as looked for in the PDF text
  bool issuable = false;
  bool has_tax = false;
};

class collector final : public feed::record_sink {
public:
  std::vector<resident>& out;
  std::unordered_map<std::string, size_t>& index;
  collector(std::vector<resident>& o, std::unordered_map<std::string, size_t>& i) : out(o), index(i) {}
  void on_header(const feed::feed_header&) override {}
  void on_resident(feed::record_op, resident_record&& r) override {
    resident x;
    x.code = r.resident_code;
    x.name = normalize(r.name);
    x.kana = normalize(r.name_kana);
    x.issuable = r.status == resident_status::active && r.hold == issuance_hold::none;
    index[x.code] = out.size();
    out.push_back(std::move(x));
  }
  void on_tax(feed::record_op, tax_record&& t) override {
    auto it = index.find(t.resident_code);
    if (it == index.end())
      return;
    auto& x = out[it->second];
    x.has_tax = true;
    x.address = normalize(t.address_jan1);
    x.total_income = with_commas(t.amount(tax_amount::total_income));
    if (t.declaration == declaration_kind::not_filed)
      x.issuable = false;
  }
};

void parse_feed(const std::string& file, feed::record_sink& sink) {
  feed::parser p({"272051", {}}, sink);
  std::ifstream in(file, std::ios::binary);
  if (!in)
    throw std::runtime_error("cannot read " + file);
  std::string buf(1 << 20, '\0');
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (in.gcount() > 0)
      p.feed(std::string_view(buf.data(), static_cast<size_t>(in.gcount())));
  }
  p.finish();
  if (!p.ok())
    throw std::runtime_error(file + ": " + (p.errors().empty() ? "bad feed" : p.errors()[0].message));
}

struct population {
  std::vector<resident> all;
  std::vector<uint32_t> issuable; // indices into all
};

population load_population(const std::string& residents_file, const std::string& tax_file) {
  population pop;
  std::unordered_map<std::string, size_t> index;
  collector c(pop.all, index);
  parse_feed(residents_file, c);
  parse_feed(tax_file, c);
  for (uint32_t i = 0; i < pop.all.size(); ++i)
    if (pop.all[i].issuable && pop.all[i].has_tax)
      pop.issuable.push_back(i);
  return pop;
}

// ---------------------------------------------------------------------------------------------
// Requests and their results

std::string request_body(const std::string& request_id, const std::string& code) {
  return "{\"request_id\":\"" + request_id
         + "\",\"municipality_code\":\"272051\",\"certificate_type\":\"income_tax\","
           "\"resident_code\":\""
         + code
         + "\",\"kiosk\":{\"store_code\":\"S0001234\",\"terminal_id\":\"T01\"},"
           "\"requested_at\":\"2026-11-28T10:15:00+09:00\"}";
}

std::string raw_request(const std::string& body) {
  return "POST /center/v1/issuances HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
         "application/json\r\nContent-Length: "
         + std::to_string(body.size()) + "\r\n\r\n" + body;
}

struct sample {
  double ms = 0;         // rates: from the scheduled time; otherwise as service_ms
  double service_ms = 0; // from just before the write (or the reconnect before it)
  unsigned status = 0;   // 0: transport error (connect, TLS, timeout, closed)
  uint32_t resident = 0;
  std::string code;      // the problem's "code" for errors
  std::string number;    // Kofu-Certificate-Number
  std::string pdf;
  uint32_t connection = 0;
  bench::clock_type::time_point done; // when the whole answer was read
};

std::string problem_code(const std::string& body) {
  auto k = body.find("\"code\"");
  if (k == std::string::npos)
    return {};
  auto q1 = body.find('"', body.find(':', k) + 1);
  auto q2 = q1 == std::string::npos ? q1 : body.find('"', q1 + 1);
  return q2 == std::string::npos ? std::string{} : body.substr(q1 + 1, q2 - q1 - 1);
}

net::http_client_options client_options(const options& o) {
  net::http_client_options co;
  co.host = "127.0.0.1";
  co.port = o.port;
  co.ca_file = o.setup + "/ca.crt";
  co.cert_file = o.setup + "/center.crt";
  co.key_file = o.setup + "/center.key";
  co.timeout_ms = 15'000;
  return co;
}

const net::header_list json_headers{{"Content-Type", "application/json"}};

/// The answer's part of a sample, the same for both clients: the certificate number and (when
/// kept) the PDF of a 200, the problem's code otherwise.
void record_answer(sample& s, unsigned status, std::optional<std::string_view> number,
                   std::string&& body, bool keep_pdf) {
  s.status = status;
  if (status == 200) {
    if (number)
      s.number = *number;
    if (keep_pdf)
      s.pdf = std::move(body);
  } else {
    s.code = problem_code(body);
  }
}

/// One request through `c`, timed; a transport error is status 0 (the client reconnects next).
sample issue(net::http_client& c, const std::string& request_id, uint32_t resident_index,
             const std::string& code, bool keep_pdf) {
  sample s;
  s.resident = resident_index;
  auto body = request_body(request_id, code);
  auto t0 = bench::clock_type::now();
  try {
    auto r = c.request("POST", "/center/v1/issuances", json_headers, body);
    s.ms = s.service_ms = bench::seconds_since(t0) * 1e3;
    record_answer(s, r.status, r.header("Kofu-Certificate-Number"), std::move(r.body), keep_pdf);
  } catch (const std::exception& e) {
    s.ms = s.service_ms = bench::seconds_since(t0) * 1e3;
    s.code = e.what();
    c.close();
  }
  return s;
}

std::string run_nonce() {
  auto t = std::chrono::system_clock::now().time_since_epoch();
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(t).count() % 100'000'000);
}

/// CPU seconds (user + system) of this process.
double self_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec)
         + static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

/// CPU seconds (user + system) of process `pid` from /proc/PID/stat; 0 when unknown.
double process_cpu_seconds(int pid) {
  if (pid <= 0)
    return 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = stat.rfind(')');
  if (close == std::string::npos)
    return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string f;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = std::stod(f);
    if (i == 15) stime = std::stod(f);
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct phase_result {
  std::string name;
  double seconds = 0;
  bench::clock_type::time_point started; // the window's start
  double client_cpu = 0; // this process's CPU seconds over the window (harness, + the ceiling server)
  double server_cpu = 0; // kofud's CPU seconds over the window (--server-pid)
  bench::stall_meter::result stalls;
  std::vector<sample> samples;
};

/// The machine's stalls over a window (bench::stall_meter): a latency spike of the same size is
/// the machine's.
void report_stalls(const std::string& prefix, const bench::stall_meter::result& r) {
  figure(prefix + ".machine_stall_ms max / over 10 ms (a 5 ms sleep woken late)",
         fmt(r.max_ms, 2) + " / " + std::to_string(r.over_10ms));
}

void report_latency(const std::string& prefix, std::vector<sample>& samples, double seconds,
                    bool throughput = true, const std::string& latency_of = "all answers") {
  std::map<std::string, uint64_t> histogram;
  std::vector<double> ms, ms_ok;
  for (auto& s : samples) {
    auto key = std::to_string(s.status);
    if (s.status == 0)
      key = "transport_error";
    else if (s.status != 200 && !s.code.empty())
      key += " " + s.code;
    ++histogram[key];
    ms.push_back(s.ms);
    if (s.status == 200)
      ms_ok.push_back(s.ms);
  }
  std::string h;
  for (auto& [k, n] : histogram)
    h += (h.empty() ? "" : ", ") + k + " x" + std::to_string(n);
  figure(prefix + ".requests", std::to_string(samples.size()));
  figure(prefix + ".status_histogram", h.empty() ? "-" : h);
  if (throughput) {
    figure(prefix + ".window_seconds", fmt(seconds, 2));
    figure(prefix + ".throughput_per_s (all answers)", fmt(samples.size() / seconds, 1));
    figure(prefix + ".throughput_200_per_s", fmt(ms_ok.size() / seconds, 1));
  }
  figure(prefix + ".latency_ms p50/p90/p99/max (" + latency_of + ")",
         fmt(bench::quantile(ms, 0.5), 2) + " / " + fmt(bench::quantile(ms, 0.9), 2) + " / "
           + fmt(bench::quantile(ms, 0.99), 2) + " / " + fmt(bench::quantile(ms, 1.0), 2));
}

// ---------------------------------------------------------------------------------------------
// The load loop (used against kofud and against the transport ceiling)

/// --client threads: a thread and a synchronous net::http_client per connection.
phase_result load_loop_threads(const options& o, const population& pop, uint16_t port,
                               const std::string& tag, bool keep_pdfs) {
  phase_result res;
  res.name = tag;
  auto co = client_options(o);
  co.port = port;
  std::vector<std::vector<sample>> per_thread(o.connections);
  std::atomic<uint64_t> claimed{0};
  std::atomic<uint64_t> kept_bytes{0};
  std::atomic<bool> stop{false};
  std::barrier ready(static_cast<std::ptrdiff_t>(o.connections + 1));
  std::barrier go(static_cast<std::ptrdiff_t>(o.connections + 1));
  std::barrier done(static_cast<std::ptrdiff_t>(o.connections + 1));
  auto nonce = run_nonce();
  bench::clock_type::time_point deadline;
  std::vector<std::thread> threads;
  for (size_t t = 0; t < o.connections; ++t) {
    threads.emplace_back([&, t] {
      net::http_client c(co);
      std::mt19937_64 rng(t * 7919 + 17);
      uint64_t seq = 0;
      auto pick = [&] {
        return pop.issuable[std::uniform_int_distribution<size_t>(0, pop.issuable.size() - 1)(rng)];
      };
      auto id = [&] {
        return tag.substr(0, 1) + nonce + "-" + std::to_string(t) + "-" + std::to_string(seq++);
      };
      try {
        c.connect();
        auto w = pick();
        issue(c, id(), w, pop.all[w].code, false); // warm-up, outside the window
      } catch (const std::exception& e) {
        std::fprintf(stderr, "center_sim: connection %zu: %s\n", t, e.what());
      }
      ready.arrive_and_wait();
      go.arrive_and_wait();
      auto end = deadline;
      while (!stop.load(std::memory_order_relaxed) && bench::clock_type::now() < end
             && claimed.fetch_add(1) < o.requests_max) {
        auto r = pick();
        auto s = issue(c, id(), r, pop.all[r].code, keep_pdfs);
        s.connection = static_cast<uint32_t>(t);
        s.done = bench::clock_type::now();
        if (keep_pdfs && kept_bytes.fetch_add(s.pdf.size()) > kept_pdf_bytes_max)
          stop = true;
        per_thread[t].push_back(std::move(s));
      }
      done.arrive_and_wait();
    });
  }
  // Every connection is connected and warm: the window starts now. `deadline` is written before
  // the `go` barrier, which orders it before the threads read it.
  ready.arrive_and_wait();
  bench::stall_meter meter;
  auto t0 = bench::clock_type::now();
  res.started = t0;
  auto cpu0 = self_cpu_seconds();
  auto server0 = process_cpu_seconds(o.server_pid);
  deadline = t0 + std::chrono::milliseconds(static_cast<int64_t>(o.seconds * 1000));
  go.arrive_and_wait();
  done.arrive_and_wait();
  res.stalls = meter.stop();
  res.seconds = bench::seconds_since(t0);
  res.client_cpu = self_cpu_seconds() - cpu0;
  res.server_cpu = process_cpu_seconds(o.server_pid) - server0;
  for (auto& th : threads)
    th.join();
  if (stop)
    std::printf("center_sim: %s: stopped early, %llu bytes of PDFs kept\n", tag.c_str(),
                static_cast<unsigned long long>(kept_bytes.load()));
  for (auto& v : per_thread)
    for (auto& s : v)
      res.samples.push_back(std::move(s));
  return res;
}

bench::async_load_options async_options(const options& o, uint16_t port) {
  auto co = client_options(o);
  bench::async_load_options ao;
  ao.host = co.host;
  ao.port = port;
  ao.ca_file = co.ca_file;
  ao.cert_file = co.cert_file;
  ao.key_file = co.key_file;
  ao.timeout_ms = co.timeout_ms;
  ao.body_bytes_max = co.body_bytes_max;
  ao.connections = o.connections;
  ao.threads = o.client_threads;
  return ao;
}

/// The async client's requests for random issuable residents and their samples: per connection,
/// as each thread of load_loop_threads holds them (the hooks of one connection never run
/// concurrently).
class async_requests {
public:
  /// `seed`: connection t's generator starts at t * 7919 + seed. `prefix`: the request ids'.
  async_requests(const population& pop, size_t connections, uint64_t seed, std::string prefix,
                 bool keep_pdfs)
    : pop_(pop), per_(connections), prefix_(std::move(prefix)), keep_pdfs_(keep_pdfs) {
    for (size_t t = 0; t < connections; ++t)
      per_[t].rng.seed(t * 7919 + seed);
  }

  bench::async_load_hooks hooks() {
    bench::async_load_hooks h;
    h.next = [this](size_t t, std::string& body) -> uint32_t {
      auto& c = per_[t];
      auto r =
        pop_.issuable[std::uniform_int_distribution<size_t>(0, pop_.issuable.size() - 1)(c.rng)];
      body = request_body(prefix_ + std::to_string(t) + "-" + std::to_string(c.seq++),
                          pop_.all[r].code);
      return r;
    };
    h.answer = [this](size_t t, uint32_t r, bench::async_answer&& a) {
      sample s;
      s.resident = r;
      s.ms = a.ms;
      s.service_ms = a.service_ms;
      if (a.status == 0) {
        s.code = std::move(a.error);
      } else {
        record_answer(s, a.status, std::string_view(a.number), std::move(a.body), keep_pdfs_);
      }
      s.connection = static_cast<uint32_t>(t);
      s.done = bench::clock_type::now();
      bool go_on = !(keep_pdfs_ && kept_bytes_.fetch_add(s.pdf.size()) > kept_pdf_bytes_max);
      per_[t].samples.push_back(std::move(s));
      return go_on;
    };
    return h;
  }

  /// The samples so far, moved out; the count of kept bytes starts again.
  std::vector<sample> take() {
    std::vector<sample> out;
    for (auto& c : per_) {
      for (auto& s : c.samples)
        out.push_back(std::move(s));
      c.samples.clear();
    }
    kept_bytes_ = 0;
    return out;
  }

  uint64_t kept_bytes() const { return kept_bytes_.load(); }

private:
  struct per_connection {
    std::mt19937_64 rng;
    uint64_t seq = 0;
    std::vector<sample> samples;
  };
  const population& pop_;
  std::vector<per_connection> per_;
  std::string prefix_;
  bool keep_pdfs_;
  std::atomic<uint64_t> kept_bytes_{0};
};

/// --client async (the default): the C connections on one io_context run by --client-threads
/// threads (async_load.hpp). The same residents, request ids, warm-up, window, samples and CPU
/// accounting as load_loop_threads.
phase_result load_loop_async(const options& o, const population& pop, uint16_t port,
                             const std::string& tag, bool keep_pdfs) {
  phase_result res;
  res.name = tag;
  async_requests requests(pop, o.connections, 17, tag.substr(0, 1) + run_nonce() + "-",
                          keep_pdfs);
  bench::async_load load(async_options(o, port), requests.hooks());
  load.warm_up(); // handshake and one request per connection, outside the window
  // Every connection is connected and warm: the window starts now.
  bench::stall_meter meter;
  auto t0 = bench::clock_type::now();
  res.started = t0;
  auto cpu0 = self_cpu_seconds();
  auto server0 = process_cpu_seconds(o.server_pid);
  load.run(t0 + std::chrono::milliseconds(static_cast<int64_t>(o.seconds * 1000)), o.requests_max);
  res.stalls = meter.stop();
  res.seconds = bench::seconds_since(t0);
  res.client_cpu = self_cpu_seconds() - cpu0;
  res.server_cpu = process_cpu_seconds(o.server_pid) - server0;
  if (load.stopped())
    std::printf("center_sim: %s: stopped early, %llu bytes of PDFs kept\n", tag.c_str(),
                static_cast<unsigned long long>(requests.kept_bytes()));
  res.samples = requests.take();
  return res;
}

/// --samples-csv: one line per answer of the window, in the order of completion.
void write_samples_csv(const options& o, const phase_result& res) {
  if (o.samples_csv.empty())
    return;
  auto path = o.samples_csv + res.name + ".csv";
  std::vector<const sample*> order;
  for (auto& s : res.samples)
    order.push_back(&s);
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->done < b->done; });
  std::string text = "connection,done_ms,latency_ms,status\n";
  char line[96];
  for (auto* s : order) {
    std::snprintf(line, sizeof line, "%u,%.3f,%.3f,%u\n", s->connection,
                  std::chrono::duration<double, std::milli>(s->done - res.started).count(), s->ms,
                  s->status);
    text += line;
  }
  std::FILE* f = std::fopen(path.c_str(), "w");
  bool ok = f != nullptr && std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (f != nullptr)
    ok = std::fclose(f) == 0 && ok;
  if (!ok) {
    std::fprintf(stderr, "center_sim: --samples-csv: cannot write %s\n", path.c_str());
    return;
  }
  std::printf("center_sim: %s: %zu answers written to %s\n", res.name.c_str(), order.size(),
              path.c_str());
}

phase_result load_loop(const options& o, const population& pop, uint16_t port,
                       const std::string& tag, bool keep_pdfs) {
  auto res = o.async_client ? load_loop_async(o, pop, port, tag, keep_pdfs)
                            : load_loop_threads(o, pop, port, tag, keep_pdfs);
  write_samples_csv(o, res);
  return res;
}

// ---------------------------------------------------------------------------------------------
// Adversarial modes

struct adversarial_result {
  std::vector<sample> burst, repeat, cancel_resend, after;
  uint64_t repeat_number_mismatches = 0;
  uint64_t cancels = 0, drops = 0;
  double burst_seconds = 0;
};

adversarial_result adversarial(const options& o, const population& pop) {
  adversarial_result res;
  auto co = client_options(o);
  auto n = o.connections;
  std::vector<std::vector<sample>> burst(n), repeat(n), resend(n), after(n);
  std::barrier sync(static_cast<std::ptrdiff_t>(n));
  auto nonce = run_nonce();
  std::atomic<uint64_t> mismatches{0}, cancels{0}, drops{0};
  std::vector<std::string> repeat_numbers(static_cast<size_t>(o.rounds));
  std::mutex m;
  auto t0 = bench::clock_type::now();
  std::vector<std::thread> threads;
  for (size_t t = 0; t < n; ++t) {
    threads.emplace_back([&, t] {
      net::http_client c(co);
      std::mt19937_64 rng(t * 104729 + 3);
      // Residents of a round: distinct for the threads of the round.
      auto resident_of = [&](int round) {
        return pop.issuable[(static_cast<size_t>(round) * n + t) * 7919 % pop.issuable.size()];
      };
      // 1. bursts: all threads released together, each for a different person.
      for (int r = 0; r < o.rounds; ++r) {
        if (!c.is_open())
          try { c.connect(); } catch (...) {}
        sync.arrive_and_wait();
        auto who = resident_of(r);
        burst[t].push_back(issue(c, "A" + nonce + "-b" + std::to_string(r) + "-" + std::to_string(t),
                                 who, pop.all[who].code, true));
      }
      // 2. repeats of one request_id: every thread at once, then a redelivery each.
      for (int r = 0; r < o.rounds; ++r) {
        auto who = pop.issuable[static_cast<size_t>(r) * 104729 % pop.issuable.size()];
        auto id = "A" + nonce + "-r" + std::to_string(r);
        if (!c.is_open())
          try { c.connect(); } catch (...) {}
        sync.arrive_and_wait();
        for (int k = 0; k < 2; ++k) {
          auto s = issue(c, id, who, pop.all[who].code, true);
          if (s.status == 200) {
            std::lock_guard g(m);
            auto& first = repeat_numbers[static_cast<size_t>(r)];
            if (first.empty())
              first = s.number;
            else if (first != s.number)
              ++mismatches;
          }
          repeat[t].push_back(std::move(s));
        }
      }
      // 3. cancellations (close right after the write) and drops (close 0-30 ms after), then
      //    the same request again on a new connection.
      for (int r = 0; r < o.rounds; ++r) {
        auto who = resident_of(r + o.rounds);
        auto id = "A" + nonce + "-c" + std::to_string(r) + "-" + std::to_string(t);
        bool drop = r % 2 == 1;
        sync.arrive_and_wait();
        try {
          net::http_client victim(co);
          victim.connect();
          victim.write_raw(raw_request(request_body(id, pop.all[who].code)));
          if (drop)
            std::this_thread::sleep_for(std::chrono::milliseconds(
              std::uniform_int_distribution<uint32_t>(0, drop_delay_ms_max)(rng)));
          victim.close();
          ++(drop ? drops : cancels);
        } catch (const std::exception& e) {
          std::fprintf(stderr, "center_sim: cancel: %s\n", e.what());
        }
        if (!c.is_open())
          try { c.connect(); } catch (...) {}
        resend[t].push_back(issue(c, id, who, pop.all[who].code, true));
      }
      // 4. afterwards: one normal request each; the node must still serve.
      sync.arrive_and_wait();
      auto who = resident_of(3 * o.rounds);
      after[t].push_back(issue(c, "A" + nonce + "-n-" + std::to_string(t), who, pop.all[who].code,
                               true));
    });
  }
  for (auto& th : threads)
    th.join();
  res.burst_seconds = bench::seconds_since(t0);
  auto flat = [](std::vector<std::vector<sample>>& v) {
    std::vector<sample> out;
    for (auto& x : v)
      for (auto& s : x)
        out.push_back(std::move(s));
    return out;
  };
  res.burst = flat(burst);
  res.repeat = flat(repeat);
  res.cancel_resend = flat(resend);
  res.after = flat(after);
  res.repeat_number_mismatches = mismatches;
  res.cancels = cancels;
  res.drops = drops;
  return res;
}

// ---------------------------------------------------------------------------------------------
// The check of every PDF

enum class verdict { right, wrong, unreadable };

verdict check_pdf(const sample& s, const population& pop, std::string* why) {
  std::unique_ptr<poppler::document> doc(
    poppler::document::load_from_raw_data(s.pdf.data(), static_cast<int>(s.pdf.size())));
  if (!doc || doc->is_locked() || doc->pages() < 1) {
    *why = "poppler cannot open it";
    return verdict::unreadable;
  }
  std::string text;
  for (int i = 0; i < doc->pages(); ++i) {
    std::unique_ptr<poppler::page> p(doc->create_page(i));
    if (!p)
      continue;
    auto u = p->text().to_utf8();
    text.append(u.begin(), u.end());
  }
  text = normalize(text);
  auto& r = pop.all[s.resident];
  auto count = [&](const std::string& needle) {
    size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
      ++n;
    return n;
  };
  std::string missing;
  if (count(r.name) != 1)
    missing += " name x" + std::to_string(count(r.name));
  if (text.find(r.kana) == std::string::npos)
    missing += " kana";
  if (text.find(r.address) == std::string::npos)
    missing += " address";
  if (text.find(r.total_income) == std::string::npos)
    missing += " total_income";
  if (missing.empty())
    return verdict::right;
  *why = "resident " + r.code + ":" + missing;
  return verdict::wrong;
}

struct check_totals {
  uint64_t checked = 0, wrong = 0, unreadable = 0;
  double seconds = 0;
};

check_totals check_all(const std::vector<const sample*>& pdfs, const population& pop) {
  check_totals tot;
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> wrong{0}, unreadable{0};
  std::mutex m;
  int printed = 0;
  auto t0 = bench::clock_type::now();
  auto workers = std::max(1u, std::min(2u, std::thread::hardware_concurrency()));
  std::vector<std::thread> threads;
  for (unsigned w = 0; w < workers; ++w)
    threads.emplace_back([&] {
      for (size_t i; (i = next.fetch_add(1)) < pdfs.size();) {
        std::string why;
        auto v = check_pdf(*pdfs[i], pop, &why);
        if (v == verdict::right)
          continue;
        ++(v == verdict::wrong ? wrong : unreadable);
        std::lock_guard g(m);
        if (printed++ < 10)
          std::fprintf(stderr, "center_sim: WRONG certificate %s: %s\n", pdfs[i]->number.c_str(),
                       why.c_str());
      }
    });
  for (auto& t : threads)
    t.join();
  tot.checked = pdfs.size();
  tot.wrong = wrong;
  tot.unreadable = unreadable;
  tot.seconds = bench::seconds_since(t0);
  return tot;
}

// ---------------------------------------------------------------------------------------------
// The rates phase: an open loop at fixed offered rates

/// Runs the rates phase against kofud and prints its figures, every PDF of a window checked after
/// it (and then freed). Returns the wrong certificates (wrong or unreadable PDFs).
uint64_t run_rates(const options& o, const population& pop) {
  // Its own request ids ("R"), and other residents than the load phase's sequence.
  async_requests requests(pop, o.connections, 29, "R" + run_nonce() + "-", true);
  bench::async_load load(async_options(o, o.port), requests.hooks());
  auto window = std::chrono::duration_cast<bench::clock_type::duration>(
    std::chrono::duration<double>(o.rate_seconds));
  const char* label = o.connections == 64 ? "target" : "info";
  uint64_t wrong = 0;
  for (size_t i = 0; i < o.rate_values.size(); ++i) {
    auto rate = o.rate_values[i];
    auto prefix = "rate_" + o.rate_names[i];
    // As the load phase: every connection connected and warm before the window (again before
    // each: the previous window's check left them idle; a reconnect would count as latency).
    load.warm_up();
    bench::stall_meter meter;
    auto t0 = bench::clock_type::now();
    auto cpu0 = self_cpu_seconds();
    auto server0 = process_cpu_seconds(o.server_pid);
    // Requests still waiting for a connection a whole window after the schedule's end are not
    // sent: a node far slower than the rate does not hold the bench for long.
    auto r = load.run_at_rate(rate, t0 + window, o.requests_max, t0 + 2 * window);
    auto stalls = meter.stop();
    auto seconds = bench::seconds_since(t0);
    auto client_cpu = self_cpu_seconds() - cpu0;
    auto server_cpu = process_cpu_seconds(o.server_pid) - server0;
    if (load.stopped())
      std::printf("center_sim: %s: stopped early, %llu bytes of PDFs kept\n", prefix.c_str(),
                  static_cast<unsigned long long>(requests.kept_bytes()));
    auto samples = requests.take();

    figure(prefix + ".offered_per_s", fmt(rate, 1));
    figure(prefix + ".scheduled / unsent",
           std::to_string(r.scheduled) + " / " + std::to_string(r.unsent));
    report_latency(prefix, samples, seconds, true, "all answers, from the schedule");
    uint64_t ok = 0;
    std::vector<double> ms, service_ms;
    std::vector<const sample*> pdfs;
    for (auto& s : samples) {
      ms.push_back(s.ms);
      service_ms.push_back(s.service_ms);
      if (s.status == 200) {
        ++ok;
        pdfs.push_back(&s);
      }
    }
    figure(prefix + ".service_ms p50/p99 (from the write)",
           fmt(bench::quantile(service_ms, 0.5), 2) + " / "
             + fmt(bench::quantile(service_ms, 0.99), 2));
    report_stalls(prefix, stalls);
    auto n = static_cast<double>(std::max<size_t>(1, samples.size()));
    figure(prefix + ".cpu_ms_per_request harness (this process)", fmt(client_cpu * 1e3 / n, 3));
    if (o.server_pid > 0)
      figure(prefix + ".cpu_ms_per_request kofud", fmt(server_cpu * 1e3 / n, 3));
    auto chk = check_all(pdfs, pop);
    figure(prefix + ".pdfs_checked", std::to_string(chk.checked) + " (" + fmt(chk.seconds, 1)
                                       + " s with poppler-cpp)");
    figure(prefix + ".wrong_certificates", std::to_string(chk.wrong + chk.unreadable));
    wrong += chk.wrong + chk.unreadable;

    // The p99 is only the node's at this rate if the node served the rate.
    auto achieved = static_cast<double>(ok) / seconds;
    auto p99 = bench::quantile(ms, 0.99);
    auto short_by = 1 - achieved / rate;
    std::string detail = "p99 " + fmt(p99, 2) + " ms";
    if (short_by > 0.02)
      detail += "; " + fmt(achieved, 1) + "/s answered 200, " + fmt(short_by * 100, 1)
                + "% short of the offered rate: the node could not keep up";
    if (r.unsent > 0)
      detail += "; " + std::to_string(r.unsent) + " requests still waiting for a connection "
                + fmt(o.rate_seconds, 1) + " s after the schedule's end, not sent";
    bool met = p99 <= 25 && short_by <= 0.02 && r.unsent == 0;
    std::printf("%s p99 <= 25 ms at %s/s offered (%zu connections): %s (%s)\n", label,
                o.rate_names[i].c_str(), o.connections, met ? "MET" : "MISSED", detail.c_str());
  }
  return wrong;
}

// ---------------------------------------------------------------------------------------------
// The transport ceiling: the same TLS, a fixed PDF

std::vector<std::string> read_lines(const std::string& file) {
  std::vector<std::string> out;
  std::ifstream in(file);
  for (std::string l; std::getline(in, l);)
    if (!l.empty())
      out.push_back(l);
  return out;
}

std::unique_ptr<net::http_server> ceiling_server(const options& o, std::shared_ptr<const std::string> pdf) {
  net::http_server_options so;
  so.host = "127.0.0.1";
  so.port = 0;
  so.tls = true;
  so.tls_files.cert_file = o.setup + "/server.crt";
  so.tls_files.key_file = o.setup + "/server.key";
  so.tls_files.client_ca_file = o.setup + "/ca.crt";
  so.tls_files.require_client_cert = true;
  so.tls_files.client_fingerprints_sha256 = read_lines(o.setup + "/center.fingerprint");
  so.io_threads = 1; // as kofud's center listener (net/node.cpp)
  so.connections_max = 512;
  auto server = std::make_unique<net::http_server>(
    so, [pdf](net::http_request req, net::responder reply) {
      net::http_response r;
      if (req.method != "POST") {
        r = net::problem_response(405, "method_not_allowed", "Method Not Allowed");
      } else {
        r.headers = {{"Content-Type", "application/pdf"}, {"Cache-Control", "no-store"}};
        r.body = *pdf; // a fresh buffer per answer, as a session's (the server wipes it)
      }
      reply.send(std::move(r));
    });
  server->start();
  return server;
}

/// --overload --client threads (the client before; kept for comparison): a thread and a
/// synchronous net::http_client per connection, a barrier before each round's requests and after
/// its answers.
std::vector<sample> overload_threads(const options& o, const population& pop) {
  auto co = client_options(o);
  auto n = o.connections;
  std::vector<std::vector<sample>> per(n);
  std::barrier sync(static_cast<std::ptrdiff_t>(n));
  auto nonce = run_nonce();
  std::vector<std::thread> threads;
  for (size_t t = 0; t < n; ++t)
    threads.emplace_back([&, t] {
      net::http_client c(co);
      for (int r = 0; r < o.rounds; ++r) {
        if (!c.is_open())
          try { c.connect(); } catch (...) {}
        sync.arrive_and_wait();
        auto who = pop.issuable[(static_cast<size_t>(r) * n + t) * 31 % pop.issuable.size()];
        per[t].push_back(issue(c, "O" + nonce + "-" + std::to_string(r) + "-" + std::to_string(t),
                               who, pop.all[who].code, true));
        sync.arrive_and_wait(); // the next round starts when every answer of this one is in
      }
    });
  for (auto& th : threads)
    th.join();
  std::vector<sample> all;
  for (auto& v : per)
    for (auto& s : v)
      all.push_back(std::move(s));
  return all;
}

/// --overload --client async (the default): the same rounds, residents and request ids on the
/// async client (async_load::run_rounds). 64 threads on 2 cores made the client's own scheduling
/// part of the 503 latency it measured; here one thread writes the C requests one after the other.
std::vector<sample> overload_async(const options& o, const population& pop) {
  auto n = o.connections;
  struct per_connection {
    int round = 0;
    std::vector<sample> samples;
  };
  std::vector<per_connection> per(n);
  auto nonce = run_nonce();
  bench::async_load_hooks hooks;
  hooks.next = [&](size_t t, std::string& body) -> uint32_t {
    auto r = per[t].round++;
    auto who = pop.issuable[(static_cast<size_t>(r) * n + t) * 31 % pop.issuable.size()];
    body = request_body("O" + nonce + "-" + std::to_string(r) + "-" + std::to_string(t),
                        pop.all[who].code);
    return who;
  };
  hooks.answer = [&](size_t t, uint32_t who, bench::async_answer&& a) {
    sample s;
    s.resident = who;
    s.ms = a.ms;
    s.service_ms = a.service_ms;
    if (a.status == 0)
      s.code = std::move(a.error);
    else
      record_answer(s, a.status, std::string_view(a.number), std::move(a.body), true);
    per[t].samples.push_back(std::move(s));
    return true;
  };
  bench::async_load load(async_options(o, o.port), std::move(hooks));
  load.run_rounds(o.rounds);
  std::vector<sample> all;
  for (auto& c : per)
    for (auto& s : c.samples)
      all.push_back(std::move(s));
  return all;
}

int run_overload(const options& o, const population& pop) {
  auto all = o.async_client ? overload_async(o, pop) : overload_threads(o, pop);
  report_latency("overload", all, 0, false);
  std::vector<double> ms503;
  std::vector<const sample*> pdfs;
  for (auto& s : all) {
    if (s.status == 503 && s.code == "overloaded")
      ms503.push_back(s.ms);
    if (s.status == 200)
      pdfs.push_back(&s);
  }
  auto p99 = bench::quantile(ms503, 0.99);
  figure("overload.503_overloaded_answers", std::to_string(ms503.size()));
  figure("overload.503_latency_ms p50/p90/p99/max",
         fmt(bench::quantile(ms503, 0.5), 2) + " / " + fmt(bench::quantile(ms503, 0.9), 2) + " / "
           + fmt(p99, 2) + " / " + fmt(bench::quantile(ms503, 1.0), 2));
  auto chk = check_all(pdfs, pop);
  figure("overload.pdfs_checked", std::to_string(chk.checked));
  figure("overload.wrong_certificates", std::to_string(chk.wrong + chk.unreadable));
  if (ms503.empty())
    std::printf("target 503 overloaded <= 10 ms: NOT MEASURED (no 503 overloaded answer)\n");
  else
    std::printf("target 503 overloaded <= 10 ms (p99): %s (p99 %s ms, max %s ms)\n",
                p99 <= 10 ? "MET" : "MISSED", fmt(p99, 2).c_str(),
                fmt(bench::quantile(ms503, 1.0), 2).c_str());
  return chk.wrong + chk.unreadable == 0 ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
  options o;
  if (!parse(argc, argv, o)) {
    std::fprintf(stderr, "usage: center_sim --setup DIR --port N --residents FILE --tax FILE "
                         "[--connections C] [--seconds S] [--requests-max N] [--rounds R] "
                         "[--phases load,rates,adversarial,ceiling] [--rates R1,R2,...] "
                         "[--rate-seconds S] [--client async|threads] [--client-threads T] "
                         "[--server-pid PID] [--prefault-mb M] [--samples-csv PREFIX] "
                         "[--overload]\n");
    return 2;
  }
  // The most PDFs one run keeps at once: a load window's, or the overload rounds' answers.
  uint64_t kept_most = o.overload ? static_cast<uint64_t>(o.rounds) * o.connections
                                  : o.requests_max;
  prefault_heap(o.prefault_mb ? *o.prefault_mb << 20
                               : std::min(kept_most * prefault_bytes_per_request,
                                          kept_pdf_bytes_max));
  try {
    auto pop = load_population(o.residents, o.tax);
    auto client = o.async_client ? "async, " + std::to_string(o.client_threads) + " thread(s)"
                                 : std::string("a thread per connection");
    std::printf("center_sim: %zu residents, %zu issuable; %zu connections; load client %s; "
                "load average %.2f\n",
                pop.all.size(), pop.issuable.size(), o.connections, client.c_str(),
                bench::load_average_1min());
    if (pop.issuable.empty())
      throw std::runtime_error("no issuable resident in the feeds");
    if (o.overload)
      return run_overload(o, pop);

    phase_result load, ceil;
    adversarial_result adv;
    if (o.load) {
      load = load_loop(o, pop, o.port, "kofu", true);
      report_latency("kofu", load.samples, load.seconds);
      report_stalls("kofu", load.stalls);
      auto n = static_cast<double>(std::max<size_t>(1, load.samples.size()));
      figure("kofu.cpu_ms_per_request harness (this process)", fmt(load.client_cpu * 1e3 / n, 3));
      if (o.server_pid > 0)
        figure("kofu.cpu_ms_per_request kofud", fmt(load.server_cpu * 1e3 / n, 3));
    }
    uint64_t rates_wrong = o.rates ? run_rates(o, pop) : 0;
    if (o.adversarial) {
      adv = adversarial(o, pop);
      report_latency("adversarial.burst", adv.burst, 0, false);
      report_latency("adversarial.repeat", adv.repeat, 0, false);
      figure("adversarial.repeat_certificate_number_mismatches",
             std::to_string(adv.repeat_number_mismatches));
      figure("adversarial.cancelled / dropped connections",
             std::to_string(adv.cancels) + " / " + std::to_string(adv.drops));
      report_latency("adversarial.resend_after_cancel_or_drop", adv.cancel_resend, 0, false);
      report_latency("adversarial.after", adv.after, 0, false);
      figure("adversarial.seconds", fmt(adv.burst_seconds, 2));
    }
    double ceiling_rate = 0;
    if (o.ceiling) {
      const sample* real = nullptr;
      for (auto* v : {&load.samples, &adv.burst})
        for (auto& s : *v)
          if (!real && s.status == 200 && !s.pdf.empty())
            real = &s;
      if (!real)
        throw std::runtime_error("ceiling: no certificate was issued to take the bytes from");
      auto pdf = std::make_shared<const std::string>(real->pdf);
      figure("ceiling.pdf_bytes", std::to_string(pdf->size()));
      auto server = ceiling_server(o, pdf);
      ceil = load_loop(o, pop, server->port(), "ceiling", false);
      server->stop();
      report_latency("ceiling", ceil.samples, ceil.seconds);
      report_stalls("ceiling", ceil.stalls);
      figure("ceiling.cpu_ms_per_request harness + in-process server",
             fmt(ceil.client_cpu * 1e3 / static_cast<double>(std::max<size_t>(1, ceil.samples.size())), 3));
      uint64_t ok = 0;
      for (auto& s : ceil.samples)
        ok += s.status == 200;
      ceiling_rate = static_cast<double>(ok) / ceil.seconds;
    }

    // After the timed phases: every PDF.
    std::vector<const sample*> pdfs;
    uint64_t pdf_bytes = 0;
    for (auto* v : {&load.samples, &adv.burst, &adv.repeat, &adv.cancel_resend, &adv.after})
      for (auto& s : *v)
        if (s.status == 200) {
          pdfs.push_back(&s);
          pdf_bytes += s.pdf.size();
        }
    auto chk = check_all(pdfs, pop);
    figure("check.pdfs_checked", std::to_string(chk.checked) + " (" + fmt(pdf_bytes / 1048576.0, 1)
                                   + " MiB, " + fmt(chk.seconds, 1) + " s with poppler-cpp)");
    figure("check.wrong_certificates", std::to_string(chk.wrong));
    figure("check.unreadable_pdfs", std::to_string(chk.unreadable));
    // The rates phase's PDFs were checked after each of its windows.
    auto wrong = chk.wrong + chk.unreadable + adv.repeat_number_mismatches + rates_wrong;

    if (o.load) {
      uint64_t ok = 0;
      std::vector<double> ms;
      for (auto& s : load.samples) {
        ok += s.status == 200;
        ms.push_back(s.ms);
      }
      double rate = static_cast<double>(ok) / load.seconds;
      auto p99 = bench::quantile(ms, 0.99);
      if (o.ceiling && ceiling_rate > 0)
        figure("kofu_to_ceiling_ratio", fmt(rate / ceiling_rate, 3));
      // The issue's targets are stated for 64 connections; other counts print them as info.
      const char* label = o.connections == 64 ? "target" : "info";
      std::printf("%s >= 2000 issuances/s with %zu connections: %s (%s/s)\n", label,
                  o.connections, rate >= 2000 ? "MET" : "MISSED", fmt(rate, 1).c_str());
      // A closed loop's latency is connections / throughput (Little's law) whatever the node
      // does, so its p99 is shown, not judged: the p99 target is judged at the issue's rate,
      // 2,000/s offered on the same connections (phase rates).
      double mean = 0;
      for (auto v : ms)
        mean += v / static_cast<double>(ms.size());
      auto answers_per_s = static_cast<double>(ms.size()) / load.seconds;
      std::printf("info p99 at saturation (closed loop, %zu connections, all answers; mean %s ms, "
                  "connections / throughput %s ms): %s ms\n",
                  o.connections, fmt(mean, 2).c_str(),
                  fmt(answers_per_s > 0 ? 1e3 * static_cast<double>(o.connections) / answers_per_s
                                        : 0,
                      2)
                    .c_str(),
                  fmt(p99, 2).c_str());
    }
    std::printf("target zero wrong certificates: %s (%llu)\n", wrong == 0 ? "MET" : "MISSED",
                static_cast<unsigned long long>(wrong));
    figure("load_average_1min_after", fmt(bench::load_average_1min(), 2));
    return wrong == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "center_sim: %s\n", e.what());
    return 1;
  }
}
