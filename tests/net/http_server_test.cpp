// kofu::net::http_server and http_client over real sockets on 127.0.0.1 (port 0), with the
// throwaway PKI of test_pki.cpp.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "test_pki.hpp"

using namespace kofu::net;
using kofu::net::test::pki;
using namespace std::chrono_literals;

namespace {

using clock_type = std::chrono::steady_clock;

/// Polls `pred` until it holds or `limit` passes (for effects on another thread).
template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds limit = 5000ms) {
  auto end = clock_type::now() + limit;
  while (!pred()) {
    if (clock_type::now() > end)
      return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

http_server_options mtls_options() {
  http_server_options o;
  o.tls_files.cert_file = pki().server_cert;
  o.tls_files.key_file = pki().server_key;
  o.tls_files.client_ca_file = pki().ca_cert;
  o.tls_files.require_client_cert = true;
  return o;
}

http_client_options client_for(const http_server& server) {
  http_client_options o;
  o.port = server.port();
  o.ca_file = pki().ca_cert;
  o.cert_file = pki().client_cert;
  o.key_file = pki().client_key;
  o.timeout_ms = 5000;
  return o;
}

/// The routes most tests use.
void echo_handler(http_request req, responder reply) {
  http_response res;
  res.headers.push_back({"Content-Type", "text/plain"});
  res.headers.push_back({"X-Peer-CN", req.peer.client_cert_subject_cn});
  res.headers.push_back({"X-Peer-FP", req.peer.client_cert_sha256});
  res.headers.push_back({"X-Peer-Port", std::to_string(req.peer.remote_port)});
  res.headers.push_back({"X-Method", req.method});
  if (req.target == "/hello")
    res.body = "hello";
  else
    res.body = req.body;
  reply.send(std::move(res));
}

bool is_problem(const http_client_response& res, unsigned status, std::string_view code) {
  return res.status == status && res.header("Content-Type") == "application/problem+json"
         && res.body.find(R"("code":")" + std::string{code} + "\"") != std::string::npos
         && res.body.find(R"("status":)" + std::to_string(status)) != std::string::npos;
}

} // namespace

TEST_CASE("GET over mutual TLS reaches the handler with the peer's certificate", "[net][tls]") {
  http_server server{mtls_options(), echo_handler};
  server.start();
  REQUIRE(server.port() != 0);
  http_client client{client_for(server)};
  auto res = client.request("GET", "/hello");
  CHECK(res.status == 200);
  CHECK(res.body == "hello");
  CHECK(res.header("Content-Type") == "text/plain");
  CHECK(res.header("X-Peer-CN") == "kofu-center-test");
  CHECK(res.header("X-Peer-FP") == fingerprint_sha256_of_file(pki().client_cert));
  CHECK(res.keep_alive);
  CHECK(client.tls_version_name() == "TLSv1.3");
}

TEST_CASE("mutual TLS refuses missing, stranger and expired client certificates", "[net][tls]") {
  http_server server{mtls_options(), echo_handler};
  server.start();
  SECTION("no client certificate") {
    auto o = client_for(server);
    o.cert_file.clear();
    o.key_file.clear();
    http_client client{o};
    // Under TLS 1.3 the client learns of the refusal on its first read.
    CHECK_THROWS(client.request("GET", "/hello"));
  }
  SECTION("certificate of another CA with the same CA name") {
    auto o = client_for(server);
    o.cert_file = pki().stranger_cert;
    o.key_file = pki().stranger_key;
    http_client client{o};
    CHECK_THROWS(client.request("GET", "/hello"));
  }
  SECTION("expired certificate") {
    auto o = client_for(server);
    o.cert_file = pki().expired_client_cert;
    o.key_file = pki().expired_client_key;
    http_client client{o};
    CHECK_THROWS(client.request("GET", "/hello"));
  }
  SECTION("the same over TLS 1.2") {
    auto o = client_for(server);
    o.max_version = tls_version::v1_2;
    o.cert_file = pki().stranger_cert;
    o.key_file = pki().stranger_key;
    http_client client{o};
    CHECK_THROWS(client.connect());
  }
}

TEST_CASE("the fingerprint allow-list refuses a valid but unlisted certificate", "[net][tls]") {
  auto o = mtls_options();
  // Upper case with colons, as operators paste them.
  std::string fp = fingerprint_sha256_of_file(pki().client_cert);
  std::string pasted;
  for (size_t i = 0; i < fp.size(); i += 2) {
    if (i)
      pasted += ':';
    pasted += static_cast<char>(std::toupper(fp[i]));
    pasted += static_cast<char>(std::toupper(fp[i + 1]));
  }
  o.tls_files.client_fingerprints_sha256 = {pasted};
  http_server server{o, echo_handler};
  server.start();
  {
    http_client listed{client_for(server)};
    CHECK(listed.request("GET", "/hello").status == 200);
  }
  auto co = client_for(server);
  co.cert_file = pki().client2_cert;
  co.key_file = pki().client2_key;
  http_client unlisted{co};
  CHECK_THROWS(unlisted.request("GET", "/hello"));
  // The handshake itself fails, as for a certificate of another CA: over TLS 1.2 the client sees
  // it before any request.
  co.max_version = tls_version::v1_2;
  http_client unlisted12{co};
  CHECK_THROWS(unlisted12.connect());
  auto listed12_options = client_for(server);
  listed12_options.max_version = tls_version::v1_2;
  http_client listed12{listed12_options};
  CHECK(listed12.request("GET", "/hello").status == 200);
}

TEST_CASE("TLS versions and suites: 1.2 AEAD only, nothing older", "[net][tls]") {
  http_server server{mtls_options(), echo_handler};
  server.start();
  SECTION("TLS 1.2 with an AEAD ECDHE suite works") {
    auto o = client_for(server);
    o.max_version = tls_version::v1_2;
    http_client client{o};
    CHECK(client.request("GET", "/hello").status == 200);
    CHECK(client.tls_version_name() == "TLSv1.2");
    CHECK(client.tls_cipher_name().find("GCM") != std::string::npos);
  }
  SECTION("TLS 1.1 is refused") {
    auto o = client_for(server);
    o.min_version = tls_version::v1_1;
    o.max_version = tls_version::v1_1;
    o.cipher_list = "DEFAULT:@SECLEVEL=0";
    http_client client{o};
    CHECK_THROWS_WITH(client.connect(), Catch::Contains("protocol version"));
  }
  SECTION("TLS 1.2 without AEAD (CBC) is refused") {
    auto o = client_for(server);
    o.max_version = tls_version::v1_2;
    o.cipher_list = "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA";
    http_client client{o};
    CHECK_THROWS(client.connect());
  }
}

TEST_CASE("start() names the file at fault", "[net][tls]") {
  auto start_with = [](http_server_options o) {
    http_server server{std::move(o), echo_handler};
    server.start();
  };
  SECTION("missing certificate") {
    auto o = mtls_options();
    o.tls_files.cert_file = pki().dir + "/nope.crt";
    CHECK_THROWS_WITH(start_with(o), Catch::Contains("nope.crt")
                                       && Catch::Contains("No such file"));
  }
  SECTION("key of another certificate") {
    auto o = mtls_options();
    o.tls_files.key_file = pki().client_key;
    CHECK_THROWS_WITH(start_with(o), Catch::Contains(pki().client_key)
                                       && Catch::Contains("does not match"));
  }
  SECTION("expired server certificate") {
    auto o = mtls_options();
    o.tls_files.cert_file = pki().expired_server_cert;
    o.tls_files.key_file = pki().expired_server_key;
    CHECK_THROWS_WITH(start_with(o), Catch::Contains("server-expired.crt")
                                       && Catch::Contains("expired"));
  }
  SECTION("CA file that is not PEM") {
    auto o = mtls_options();
    o.tls_files.client_ca_file = pki().server_key;
    CHECK_THROWS_WITH(start_with(o), Catch::Contains("client CA file"));
  }
  SECTION("bad fingerprint") {
    auto o = mtls_options();
    o.tls_files.client_fingerprints_sha256 = {"abcd"};
    CHECK_THROWS_WITH(start_with(o), Catch::Contains("not a SHA-256"));
  }
  SECTION("plain HTTP off loopback") {
    http_server_options o;
    o.tls = false;
    o.host = "0.0.0.0";
    CHECK_THROWS_WITH(start_with(o), Catch::Contains("loopback"));
  }
}

TEST_CASE("limits: 413, 431, 400 answered as problem+json", "[net][limits]") {
  http_server server{mtls_options(), echo_handler};
  server.start();
  http_client client{client_for(server)};
  SECTION("8 KiB body is fine") {
    auto res = client.request("POST", "/echo", {{"Content-Type", "application/json"}},
                              std::string(8 * 1024, 'x'));
    CHECK(res.status == 200);
    CHECK(res.body.size() == 8 * 1024);
  }
  SECTION("9 KiB body with Content-Length") {
    auto res = client.request("POST", "/echo", {{"Content-Type", "application/json"}},
                              std::string(9 * 1024, 'x'));
    CHECK(is_problem(res, 413, "payload_too_large"));
    CHECK_FALSE(res.keep_alive);
  }
  SECTION("9 KiB chunked body") {
    std::string raw = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 9; ++i)
      raw += "400\r\n" + std::string(1024, 'y') + "\r\n";
    raw += "0\r\n\r\n";
    client.write_raw(raw);
    CHECK(is_problem(client.read_response(), 413, "payload_too_large"));
  }
  SECTION("header over 8 KiB") {
    auto res = client.request("GET", "/hello", {{"X-Big", std::string(9 * 1024, 'h')}});
    CHECK(is_problem(res, 431, "header_too_large"));
  }
  SECTION("a header of exactly 8 KiB is read; one byte more is 431") {
    // Request line and fields, the blank line included: 8,192 bytes.
    auto raw = [](size_t total) {
      std::string head = "GET /hello HTTP/1.1\r\nHost: x\r\nX-Pad: ";
      std::string tail = "\r\n\r\n";
      return head + std::string(total - head.size() - tail.size(), 'p') + tail;
    };
    REQUIRE(raw(8192).size() == 8192);
    client.write_raw(raw(8192));
    CHECK(client.read_response().status == 200);
    http_client second{client_for(server)};
    second.write_raw(raw(8193));
    CHECK(is_problem(second.read_response(), 431, "header_too_large"));
  }
  SECTION("garbage") {
    client.write_raw("HELLO THERE\r\n\r\n");
    CHECK(is_problem(client.read_response(), 400, "bad_request"));
  }
  SECTION("bad chunk size") {
    client.write_raw("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    CHECK(is_problem(client.read_response(), 400, "bad_request"));
  }
}

TEST_CASE("a body that does not arrive in time is answered 408", "[net][timeout]") {
  auto o = mtls_options();
  o.read_timeout_ms = 300;
  http_server server{o, echo_handler};
  server.start();
  http_client client{client_for(server)};
  auto begin = clock_type::now();
  client.write_raw("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly part");
  auto res = client.read_response();
  auto took = clock_type::now() - begin;
  CHECK(is_problem(res, 408, "request_timeout"));
  CHECK_FALSE(res.keep_alive);
  CHECK(took >= 250ms);
  CHECK(took < 2000ms);
}

TEST_CASE("an idle keep-alive connection is closed", "[net][timeout]") {
  auto o = mtls_options();
  o.idle_timeout_ms = 200;
  http_server server{o, echo_handler};
  server.start();
  http_client client{client_for(server)};
  CHECK(client.request("GET", "/hello").status == 200);
  CHECK(server.connections() == 1);
  CHECK(wait_until([&] { return server.connections() == 0; }, 3000ms));
}

TEST_CASE("keep-alive serves several requests on one connection", "[net]") {
  http_server server{mtls_options(), echo_handler};
  server.start();
  http_client client{client_for(server)};
  std::string port;
  for (int i = 0; i < 3; ++i) {
    auto res = client.request("POST", "/echo", {}, "n" + std::to_string(i));
    CHECK(res.status == 200);
    CHECK(res.body == "n" + std::to_string(i));
    if (i == 0)
      port = std::string{*res.header("X-Peer-Port")};
    CHECK(res.header("X-Peer-Port") == port);
  }
  CHECK(server.connections() == 1);
  SECTION("Connection: close is honoured") {
    auto res = client.request("GET", "/hello", {{"Connection", "close"}});
    CHECK(res.status == 200);
    CHECK_FALSE(res.keep_alive);
    CHECK(wait_until([&] { return server.connections() == 0; }));
  }
}

TEST_CASE("large answers on a keep-alive connection are not held back", "[net][cork]") {
  // An answer above one TLS record is written corked (TCP_CORK). A cork left on would hold each
  // answer's last partial segment for the kernel's 200 ms: five answers would take a second.
  http_server server{mtls_options(), [](http_request, responder reply) {
                       http_response res;
                       res.headers.push_back({"Content-Type", "application/octet-stream"});
                       res.body.assign(100'000, 'x');
                       reply.send(std::move(res));
                     }};
  server.start();
  http_client client{client_for(server)};
  CHECK(client.request("GET", "/big").body.size() == 100'000); // connect and handshake
  auto start = clock_type::now();
  for (int i = 0; i < 5; ++i) {
    auto res = client.request("GET", "/big");
    CHECK(res.status == 200);
    CHECK(res.body == std::string(100'000, 'x'));
  }
  CHECK(clock_type::now() - start < 600ms);
  CHECK(server.connections() == 1);
}

TEST_CASE("pipelined requests are answered in order, one at a time", "[net]") {
  std::atomic<int> in_flight{0};
  std::atomic<int> overlap{0};
  std::vector<std::thread> workers;
  std::mutex workers_mutex;
  http_server::handler h = [&](http_request req, responder reply) {
    if (++in_flight > 1)
      ++overlap;
    std::lock_guard guard{workers_mutex};
    workers.emplace_back([&, req = std::move(req), reply = std::move(reply)]() mutable {
      std::this_thread::sleep_for(20ms);
      --in_flight;
      reply.send({200, {}, req.target});
    });
  };
  auto o = mtls_options();
  o.tls = false;
  http_server server{o, h};
  server.start();
  http_client_options co;
  co.tls = false;
  co.port = server.port();
  http_client client{co};
  client.write_raw("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n"
                   "GET /c HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(client.read_response().body == "/a");
  CHECK(client.read_response().body == "/b");
  CHECK(client.read_response().body == "/c");
  CHECK(overlap == 0);
  server.stop();
  for (auto& t : workers)
    t.join();
}

TEST_CASE("a responder completed from another thread", "[net][responder]") {
  std::mutex m;
  std::vector<std::thread> workers;
  std::atomic<int> written{0}, recorded{0};
  std::atomic<bool> open_before{false}, send_result{false}, open_after{true};
  http_server::handler h = [&](http_request, responder reply) {
    std::lock_guard guard{m};
    workers.emplace_back([&, reply = std::move(reply)]() mutable {
      std::this_thread::sleep_for(50ms);
      // Catch2 assertions are not thread-safe: record, check on the test's thread.
      open_before = reply.is_open();
      http_response res{200, {{"Content-Type", "application/pdf"}}, "%PDF-1.7 personal data"};
      send_result = reply.send(std::move(res), [&](bool ok) { written += ok ? 1 : 100; });
      open_after = reply.is_open();
      ++recorded;
    });
  };
  http_server server{mtls_options(), h};
  server.start();
  http_client client{client_for(server)};
  auto begin = clock_type::now();
  auto res = client.request("GET", "/deferred");
  CHECK(clock_type::now() - begin >= 50ms);
  CHECK(res.status == 200);
  CHECK(res.body == "%PDF-1.7 personal data");
  CHECK(wait_until([&] { return written.load() == 1; }));
  // The answer can be written and read before this worker has stored what send() returned.
  CHECK(wait_until([&] { return recorded.load() == 1; }));
  CHECK(open_before);
  CHECK(send_result);
  CHECK_FALSE(open_after);
  // Same connection still usable.
  CHECK(client.request("GET", "/again").status == 200);
  server.stop();
  for (auto& t : workers)
    t.join();
}

TEST_CASE("a responder whose client went away", "[net][responder]") {
  std::mutex m;
  std::optional<responder> held;
  std::atomic<bool> closed{false};
  http_server::handler h = [&](http_request, responder reply) {
    reply.on_close([&] { closed = true; });
    std::lock_guard guard{m};
    held.emplace(std::move(reply));
  };
  http_server server{mtls_options(), h};
  server.start();
  {
    http_client client{client_for(server)};
    client.write_raw("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    REQUIRE(wait_until([&] {
      std::lock_guard guard{m};
      return held.has_value();
    }));
    client.close();
  }
  REQUIRE(wait_until([&] { return closed.load(); }));
  std::lock_guard guard{m};
  CHECK_FALSE(held->is_open());
  // A callback registered after the close fires at once.
  bool late = false;
  held->on_close([&] { late = true; });
  CHECK(late);
  bool called = false;
  CHECK_FALSE(held->send({200, {}, "too late"}, [&](bool) { called = true; }));
  CHECK_FALSE(called);
}

TEST_CASE("a dropped responder answers 500, a throwing handler too", "[net][responder]") {
  http_server::handler h = [](http_request req, responder) {
    if (req.target == "/throw")
      throw std::runtime_error("bug");
    // dropped without send
  };
  http_server server{mtls_options(), h};
  server.start();
  http_client client{client_for(server)};
  CHECK(is_problem(client.request("GET", "/drop"), 500, "internal_error"));
  CHECK(is_problem(client.request("GET", "/throw"), 500, "internal_error"));
}

TEST_CASE("a handler that never answers gets 500 after handler_timeout_ms", "[net][timeout]") {
  std::optional<responder> held;
  std::atomic<bool> closed{false};
  auto o = mtls_options();
  o.handler_timeout_ms = 200;
  http_server server{o, [&](http_request, responder reply) {
                       reply.on_close([&] { closed = true; });
                       held.emplace(std::move(reply));
                     }};
  server.start();
  http_client client{client_for(server)};
  CHECK(is_problem(client.request("GET", "/x"), 500, "internal_error"));
  CHECK(closed);
  server.stop();
  CHECK_FALSE(held->send({200, {}, "late"}));
}

TEST_CASE("stop() closes connections with pending responders", "[net][responder]") {
  std::mutex m;
  std::optional<responder> held;
  std::atomic<bool> closed{false};
  http_server server{mtls_options(), [&](http_request, responder reply) {
                       reply.on_close([&] { closed = true; });
                       std::lock_guard guard{m};
                       held.emplace(std::move(reply));
                     }};
  server.start();
  http_client client{client_for(server)};
  client.write_raw("GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
  REQUIRE(wait_until([&] {
    std::lock_guard guard{m};
    return held.has_value();
  }));
  server.stop();
  CHECK(closed);
  CHECK(server.connections() == 0);
  CHECK_FALSE(held->send({200, {}, "late"}));
}

TEST_CASE("connections past connections_max are closed at once", "[net][limits]") {
  auto o = mtls_options();
  o.connections_max = 1;
  http_server server{o, echo_handler};
  server.start();
  http_client first{client_for(server)};
  CHECK(first.request("GET", "/hello").status == 200);
  http_client second{client_for(server)};
  CHECK_THROWS(second.request("GET", "/hello"));
  CHECK(first.request("GET", "/hello").status == 200);
}

TEST_CASE("plain HTTP on loopback", "[net]") {
  http_server_options o;
  o.tls = false;
  http_server server{o, echo_handler};
  server.start();
  http_client_options co;
  co.tls = false;
  co.port = server.port();
  http_client client{co};
  auto res = client.request("POST", "/echo", {}, "plain");
  CHECK(res.status == 200);
  CHECK(res.body == "plain");
  CHECK(res.header("X-Peer-FP") == "");
}

namespace {

/// A sink that checks order and backpressure, and resumes from its own worker thread.
struct checking_sink {
  std::mutex m;
  std::condition_variable cv;
  std::deque<std::function<void()>> jobs;
  bool done = false;
  // Atomics: written on the worker or an I/O thread, read by the test.
  std::atomic<bool> aborted{false};
  std::atomic<uint64_t> received{0};
  std::atomic<uint64_t> chunks{0};
  std::atomic<bool> in_order{true};
  std::atomic<bool> outstanding{false};
  std::atomic<int> overlaps{0};
  std::thread worker{[this] { run(); }};

  ~checking_sink() {
    {
      std::lock_guard guard{m};
      done = true;
    }
    cv.notify_all();
    worker.join();
  }

  static char expected(uint64_t i) { return static_cast<char>('a' + (i * 7 + i / 1000) % 26); }

  std::shared_ptr<chunk_sink> make() {
    auto s = std::make_shared<chunk_sink>();
    s->on_chunk = [this](std::string_view data, bool last, std::function<void()> resume) {
      if (outstanding.exchange(true))
        ++overlaps;
      std::lock_guard guard{m};
      jobs.push_back([this, data, last, resume = std::move(resume)] {
        uint64_t at = received.load();
        for (char c : data)
          if (c != expected(at++))
            in_order = false;
        received = at;
        ++chunks;
        if (chunks % 16 == 0)
          std::this_thread::sleep_for(1ms); // a slow consumer now and then
        outstanding = false;
        (void) last;
        resume();
      });
      cv.notify_all();
    };
    s->on_abort = [this](std::string_view) { aborted = true; };
    return s;
  }

  void run() {
    std::unique_lock guard{m};
    for (;;) {
      cv.wait(guard, [this] { return done || !jobs.empty(); });
      if (jobs.empty())
        return;
      auto job = std::move(jobs.front());
      jobs.pop_front();
      guard.unlock();
      job();
      guard.lock();
    }
  }
};

} // namespace

TEST_CASE("a streamed body of 20 MB arrives in order, with backpressure", "[net][stream]") {
  checking_sink sink;
  std::atomic<bool> handler_body_empty{false};
  std::string handler_context;
  http_server::route_policy policy = [&](const http_request& head) {
    if (head.target == "/upload")
      return body_policy::stream(sink.make(), 0, "upload-7");
    return body_policy::buffer();
  };
  http_server::handler h = [&](http_request req, responder reply) {
    if (req.target != "/upload") {
      if (!req.route_context.empty())
        return void(reply.send({500, {}, "route context leaked: " + req.route_context}));
      return echo_handler(std::move(req), std::move(reply));
    }
    handler_body_empty = req.body.empty();
    handler_context = req.route_context;
    reply.send({202, {{"Content-Type", "text/plain"}}, std::to_string(sink.received)});
  };
  auto o = mtls_options();
  http_server server{o, h, policy};
  server.start();
  constexpr uint64_t size = 20ull * 1024 * 1024;
  std::string body(size, '\0');
  for (uint64_t i = 0; i < size; ++i)
    body[i] = checking_sink::expected(i);
  http_client client{client_for(server)};
  auto res = client.request("POST", "/upload", {{"Content-Type", "text/csv"}}, body);
  CHECK(res.status == 202);
  CHECK(res.body == std::to_string(size));
  CHECK(sink.in_order);
  CHECK(sink.overlaps == 0);
  CHECK(sink.chunks > 100);
  CHECK_FALSE(sink.aborted);
  CHECK(handler_body_empty);
  CHECK(handler_context == "upload-7"); // the policy's context reaches the handler
  SECTION("the same route still buffers small bodies elsewhere, and 413s past 8 KiB") {
    CHECK(client.request("POST", "/echo", {}, "small").body == "small");
    CHECK(is_problem(client.request("POST", "/echo", {}, std::string(9000, 'z')), 413,
                     "payload_too_large"));
  }
}

TEST_CASE("a streamed chunked body with Expect: 100-continue, and an abort", "[net][stream]") {
  checking_sink sink;
  http_server::route_policy policy = [&](const http_request& head) {
    if (head.header("Authorization") != "Bearer ok")
      return body_policy::reject(problem_response(401, "unauthorized", "Unauthorized"));
    if (head.target == "/small")
      return body_policy::stream(sink.make(), 1000);
    return body_policy::stream(sink.make());
  };
  http_server::handler h = [&](http_request, responder reply) {
    reply.send({202, {}, std::to_string(sink.received)});
  };
  http_server_options o;
  o.tls = false;
  o.read_timeout_ms = 300;
  http_server server{o, h, policy};
  server.start();
  http_client_options co;
  co.tls = false;
  co.port = server.port();
  http_client client{co};
  SECTION("rejected before the body is read") {
    auto res = client.request("POST", "/upload", {}, std::string(100000, 'a'));
    CHECK(is_problem(res, 401, "unauthorized"));
    CHECK(sink.chunks == 0);
  }
  SECTION("100-continue, then chunked") {
    client.write_raw("POST /upload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ok\r\n"
                     "Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n");
    std::string body;
    for (uint64_t i = 0; i < 3000; ++i)
      body += checking_sink::expected(i);
    client.write_raw("bb8\r\n" + body + "\r\n0\r\n\r\n");
    // The interim 100 comes first; Beast's response parser skips nothing, so read it as one.
    auto interim = client.read_response();
    CHECK(interim.status == 100);
    auto res = client.read_response();
    CHECK(res.status == 202);
    CHECK(res.body == "3000");
    CHECK(sink.in_order);
  }
  SECTION("a declared length over the limit: 413 at once, and the sink is told") {
    auto res = client.request("POST", "/small", {{"Authorization", "Bearer ok"}},
                              std::string(5000, 'a'));
    CHECK(is_problem(res, 413, "payload_too_large"));
    CHECK(sink.chunks == 0);
    CHECK(wait_until([&] { return sink.aborted.load(); }));
  }
  SECTION("client stalls mid-body: the sink is told, the client gets 408") {
    client.write_raw("POST /upload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ok\r\n"
                     "Content-Length: 100000\r\n\r\nabc");
    auto res = client.read_response();
    CHECK(is_problem(res, 408, "request_timeout"));
    CHECK(wait_until([&] { return sink.aborted.load(); }));
  }
}

TEST_CASE("several I/O threads, several clients, answers from other threads", "[net][threads]") {
  std::mutex m;
  std::vector<std::thread> workers;
  std::atomic<int> written{0};
  std::atomic<int> called{0};
  http_server::handler h = [&](http_request req, responder reply) {
    if (req.target == "/inline")
      return echo_handler(std::move(req), std::move(reply));
    std::lock_guard guard{m};
    workers.emplace_back([&, req = std::move(req), reply = std::move(reply)]() mutable {
      reply.send({200, {}, req.body}, [&](bool ok) {
        written += ok ? 1 : 0;
        ++called;
      });
    });
  };
  auto o = mtls_options();
  o.io_threads = 2;
  http_server server{o, h};
  server.start();
  constexpr int clients = 4;
  constexpr int requests = 25;
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      http_client client{client_for(server)};
      for (int i = 0; i < requests; ++i) {
        auto body = std::to_string(c) + "/" + std::to_string(i);
        auto res = client.request("POST", i % 2 ? "/inline" : "/deferred", {}, body);
        if (res.status == 200 && res.body == body)
          ++good;
      }
    });
  for (auto& t : threads)
    t.join();
  CHECK(good == clients * requests);
  // Every deferred answer's on_written runs exactly once. The last one of a client may report
  // false although the client read it: the client's close can reach the server before the write's
  // completion does.
  CHECK(wait_until([&] { return called.load() == clients * (requests / 2 + 1); }));
  CHECK(written.load() >= clients * (requests / 2));
  server.stop();
  for (auto& t : workers)
    t.join();
}
