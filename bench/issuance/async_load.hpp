#pragma once

// kofu::bench::async_load: center_sim's asynchronous load client (docs/BENCH.md, "issuance").
//
// C keep-alive mutual-TLS connections multiplexed on one io_context run by a few threads (1 by
// default), in place of C threads each with its own synchronous net::http_client: the harness then
// spends less of the shared 2 cores on itself (context switches, one epoll per request and
// thread). Each connection has at most one `POST /center/v1/issuances` in flight: the body comes
// from hooks.next, the answer goes to hooks.answer. Three ways to drive them:
//  - run: a closed loop, every connection sends its next request as soon as its answer is in;
//  - run_at_rate: an open loop, requests scheduled at a fixed rate and sent on idle connections;
//  - run_rounds: every connection sends one request at once, round after round.
// TLS as net::http_client with client_options(): the client certificate and key, the server's
// certificate verified against the CA and the host (an IP: checked against the certificate's IP
// SAN), TLS 1.2 to 1.3.
// Beast and Asio stay inside async_load.cpp.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace kofu::bench {

struct async_load_options {
  std::string host = "127.0.0.1"; // an IP address (no resolver)
  uint16_t port = 0;
  std::string ca_file, cert_file, key_file; // PEM
  size_t connections = 64;
  /// Threads running the io_context (the caller's one included).
  unsigned threads = 1;
  /// Connect, handshake, the write of a request, the read of its response (each). Enforced by one
  /// watchdog timer for all connections (checked every min(timeout/4, 1 s)), not a timer per
  /// operation; a timed-out operation is a transport error.
  uint32_t timeout_ms = 15'000;
  /// Largest response body accepted.
  uint64_t body_bytes_max = 64ull * 1024 * 1024;
};

/// One request's outcome as the load loop saw it.
struct async_answer {
  /// run_at_rate: from the request's scheduled time to the whole response read, the wait for a
  /// free connection included (no coordinated omission). run and run_rounds: service_ms.
  double ms = 0;
  /// From just before the write (or the reconnect that precedes it) to the whole response read.
  double service_ms = 0;
  unsigned status = 0;    // 0: transport error (connect, TLS, timeout, closed); reconnect next
  std::string number;     // Kofu-Certificate-Number; empty when absent
  std::string body;       // the whole body
  std::string error;      // the transport error, as net::http_client words it
};

/// Called on the I/O threads; never concurrently for one connection, but with threads > 1
/// concurrently for different connections.
struct async_load_hooks {
  /// Connection `conn`'s next request: sets its JSON body and returns a tag given back with the
  /// answer (center_sim: the resident's index).
  std::function<uint32_t(size_t conn, std::string& body)> next;
  /// The answer to a request of the window (not the warm-up's). False stops the load: every
  /// connection ends after its current request (run_at_rate: requests not yet sent are dropped;
  /// run_rounds: after the current round).
  std::function<bool(size_t conn, uint32_t tag, async_answer&& answer)> answer;
};

/// What run_at_rate scheduled and sent.
struct async_rate_result {
  /// Requests whose scheduled time came (those before the deadline, at most requests_max).
  uint64_t scheduled = 0;
  /// Of them, requests still waiting for a free connection at `send_until` (or when the load was
  /// stopped): never sent, no answer given to hooks.answer.
  uint64_t unsent = 0;
};

class async_load {
public:
  /// Throws std::runtime_error when the TLS files cannot be loaded.
  async_load(async_load_options options, async_load_hooks hooks);
  ~async_load();
  async_load(const async_load&) = delete;
  async_load& operator=(const async_load&) = delete;

  /// Every connection connects, handshakes and sends one request (hooks.next; the answer is
  /// dropped). Blocks until all are done; failures are printed on stderr.
  void warm_up();

  /// The window: every connection sends requests back to back until `deadline`, until
  /// `requests_max` requests were started in all, or until hooks.answer returned false. Blocks
  /// until every connection has its last answer.
  void run(std::chrono::steady_clock::time_point deadline, uint64_t requests_max);

  /// The open loop: request k (k = 0, 1, ...) is scheduled at t0 + k / per_second, t0 being the
  /// call, for every such time before `deadline` and k < requests_max. When its time comes it is
  /// sent on an idle connection (the one idle longest); when every connection is busy it waits in a
  /// FIFO and goes on the next connection whose answer is in. So at most one request per
  /// connection is in flight, and a node slower than the rate shows as growing latency, measured
  /// from the scheduled time. Requests still waiting at `send_until` are not sent. One timer paces
  /// the schedule. Blocks until every sent request has its answer.
  async_rate_result run_at_rate(double per_second, std::chrono::steady_clock::time_point deadline,
                                uint64_t requests_max,
                                std::chrono::steady_clock::time_point send_until);

  /// `rounds` rounds: in each, every connection sends one request at the same moment (the closed
  /// ones reconnect first, outside the latency); the next round starts when every answer of this
  /// one is in. Blocks until the last round's answers are in.
  void run_rounds(int rounds);

  /// True when hooks.answer stopped the load (run_at_rate and run_rounds start unstopped; run and
  /// warm_up keep it).
  bool stopped() const noexcept;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace kofu::bench
