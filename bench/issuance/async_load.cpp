#include "bench/issuance/async_load.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "net/http_client.hpp"

namespace kofu::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using clock_type = std::chrono::steady_clock;

namespace {

double ms_between(clock_type::time_point from, clock_type::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

/// How the connections are driven in the current phase.
enum class run_mode { warm_up, closed, rate, rounds };

/// What the impl asks of a connection, whatever its executor type.
struct connection_base {
  virtual ~connection_base() = default;
  /// warm_up and closed: the connection runs its own loop.
  virtual void start(bool warm_up) = 0;
  /// rate: send one request, scheduled at `scheduled`, now.
  virtual void send_at(clock_type::time_point scheduled) = 0;
  /// rounds: reconnect if closed, then tell the impl (round_ready).
  virtual void prepare_round() = 0;
  /// rounds: send one request now.
  virtual void send_now() = 0;
  /// Called by the watchdog (any thread): closes the connection if its current operation has
  /// taken longer than the timeout.
  virtual void check_timeout(clock_type::time_point now) = 0;
  virtual void close() noexcept = 0;
};

} // namespace

struct async_load::impl {
  /// One keep-alive connection and its request loop: one operation chain at a time (connect,
  /// handshake, write, read). `Executor` is the io_context's executor (one thread) or a strand of
  /// it (several): a concrete type, so that no operation pays for a type-erased executor. The
  /// timeouts are the watchdog's, not the stream's (no timer armed per operation).
  template <class Executor>
  struct connection final : connection_base {
    using stream_type = beast::ssl_stream<beast::basic_stream<tcp, Executor>>;

    impl& owner;
    size_t index;
    Executor executor;
    std::optional<stream_type> tls;
    bool open = false;
    /// rounds: the connect before a round, not followed by a write.
    bool connect_only = false;
    bool timed_out = false;
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    std::optional<http::response_parser<http::string_body>> parser;
    uint32_t tag = 0;
    /// t0: just before the write (or the reconnect before it). scheduled: the request's time in
    /// the rate mode's schedule.
    clock_type::time_point t0, scheduled;
    /// The current operation: its start (steady clock ticks; 0 when none) and its number, read by
    /// the watchdog.
    std::atomic<int64_t> op_started{0};
    std::atomic<uint64_t> op_seq{0};

    connection(impl& o, size_t i, Executor ex) : owner(o), index(i), executor(std::move(ex)) {
      buffer.reserve(net::response_buffer_bytes);
      req.method(http::verb::post);
      req.target("/center/v1/issuances");
      req.version(11);
      req.set(http::field::host, owner.opts.host + ":" + std::to_string(owner.opts.port));
      req.set(http::field::content_type, "application/json");
    }

    auto& lowest() { return beast::get_lowest_layer(*tls); }

    void close() noexcept override {
      open = false;
      if (!tls)
        return;
      error_code ec;
      lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
      lowest().socket().close(ec);
    }

    void op_begin() {
      op_seq.fetch_add(1, std::memory_order_relaxed);
      op_started.store(clock_type::now().time_since_epoch().count(), std::memory_order_relaxed);
    }
    void op_end() { op_started.store(0, std::memory_order_relaxed); }

    void check_timeout(clock_type::time_point now) override {
      auto started = op_started.load(std::memory_order_relaxed);
      if (started == 0
          || now - clock_type::time_point(clock_type::duration(started)) < owner.timeout)
        return;
      asio::post(executor, [this, seq = op_seq.load(std::memory_order_relaxed)] {
        if (op_seq.load(std::memory_order_relaxed) != seq
            || op_started.load(std::memory_order_relaxed) == 0)
          return; // that operation ended meanwhile
        timed_out = true;
        close(); // the pending operation completes with an error
      });
    }

    // -- the request loop ---------------------------------------------------------------------

    void start(bool warm_up) override {
      asio::post(executor, [this, warm_up] {
        if (warm_up)
          begin();
        else
          next();
      });
    }

    void send_at(clock_type::time_point at) override {
      asio::dispatch(executor, [this, at] {
        scheduled = at;
        begin();
      });
    }

    void prepare_round() override {
      asio::dispatch(executor, [this] {
        if (open)
          return owner.round_ready();
        connect_only = true;
        connect();
      });
    }

    void send_now() override {
      asio::dispatch(executor, [this] { begin(); });
    }

    /// The closed loop: the next request, or the end of this connection's part.
    void next() {
      if (owner.stop.load(std::memory_order_relaxed) || clock_type::now() >= owner.deadline
          || owner.claimed.fetch_add(1) >= owner.requests_max)
        return owner.connection_done();
      begin();
    }

    void begin() {
      tag = owner.hooks.next(index, req.body());
      req.prepare_payload();
      t0 = clock_type::now();
      if (open)
        write();
      else
        connect();
    }

    void connect() {
      close();
      buffer.clear();
      tls.emplace(executor, owner.ctx);
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(tls->native_handle()), owner.opts.host.c_str());
      op_begin();
      lowest().socket().async_connect(owner.endpoint, [this](error_code ec) {
        op_end();
        if (ec)
          return fail("connect to " + owner.opts.host + ":" + std::to_string(owner.opts.port), ec);
        // No Nagle delay on requests (as net::http_client).
        error_code ignored;
        lowest().socket().set_option(tcp::no_delay(true), ignored);
        op_begin();
        tls->async_handshake(ssl::stream_base::client, [this](error_code ec) {
          op_end();
          if (ec)
            return fail("TLS handshake", ec);
          open = true;
          if (connect_only) {
            connect_only = false;
            return owner.round_ready();
          }
          write();
        });
      });
    }

    void write() {
      op_begin();
      http::async_write(*tls, req, [this](error_code ec, size_t) {
        op_end();
        if (ec)
          return fail("write request", ec);
        read();
      });
    }

    void read() {
      parser.emplace();
      parser->body_limit(owner.opts.body_bytes_max);
      parser->header_limit(64 * 1024);
      op_begin();
      http::async_read(*tls, buffer, *parser, [this](error_code ec, size_t) {
        op_end();
        if (ec)
          return fail("read response", ec);
        auto& msg = parser->get();
        async_answer a;
        stamp(a);
        a.status = msg.result_int();
        if (auto it = msg.find("Kofu-Certificate-Number"); it != msg.end())
          a.number.assign(it->value().data(), it->value().size());
        a.body = std::move(msg.body());
        if (!msg.keep_alive())
          close();
        parser.reset();
        finish(std::move(a));
      });
    }

    /// The phase is the warm-up (its answers are not samples).
    bool warming() const { return owner.mode == run_mode::warm_up; }

    /// The answer's latencies, now.
    void stamp(async_answer& a) const {
      auto now = clock_type::now();
      a.service_ms = ms_between(t0, now);
      a.ms = owner.mode == run_mode::rate ? ms_between(scheduled, now) : a.service_ms;
    }

    void fail(const std::string& what, error_code ec) {
      close();
      parser.reset();
      bool was_timeout = timed_out;
      timed_out = false;
      if (connect_only) { // no request yet: the round's write reconnects, and reports a failure
        connect_only = false;
        return owner.round_ready();
      }
      async_answer a;
      stamp(a);
      // The watchdog closed the socket: say so, as a stream timeout would.
      a.error = what + ": " + (was_timeout ? error_code(beast::error::timeout) : ec).message();
      if (warming())
        std::fprintf(stderr, "center_sim: connection %zu: %s\n", index, a.error.c_str());
      finish(std::move(a));
    }

    void finish(async_answer&& a) {
      if (warming())
        return owner.connection_done(); // the warm-up's answer is not a sample
      if (!owner.hooks.answer(index, tag, std::move(a)))
        owner.stop = true;
      switch (owner.mode) {
      case run_mode::rate:
        if (auto k = owner.rate_free(index)) { // a request waits: it goes on this connection
          scheduled = owner.scheduled_at(*k);
          begin();
        }
        return;
      case run_mode::rounds:
        return owner.round_answered();
      default:
        return next();
      }
    }
  };

  async_load_options opts;
  async_load_hooks hooks;
  std::chrono::milliseconds timeout;
  asio::io_context ioc;
  ssl::context ctx{ssl::context::tls_client};
  tcp::endpoint endpoint;
  std::vector<std::unique_ptr<connection_base>> connections;
  /// Written before the phase's io_context run, read by the connections during it.
  run_mode mode = run_mode::closed;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> claimed{0};
  uint64_t requests_max = 0;
  clock_type::time_point deadline;
  /// Participants still in the current phase: the connections (warm_up, closed), or the phase's
  /// own coordinator (rate, rounds). The last one out cancels the watchdog.
  std::atomic<size_t> active{0};
  asio::strand<asio::io_context::executor_type> watchdog_strand{ioc.get_executor()};
  asio::steady_timer watchdog{watchdog_strand};

  // -- rate: the schedule, paced by one timer. Requests are numbered k = 0, 1, ... in schedule
  // order and handed out in that order, so the FIFO of requests waiting for a connection is the
  // range [sent, released): two counters, no queue of requests.
  double rate = 0;
  clock_type::time_point rate_t0, send_until;
  uint64_t rate_total = 0; // requests scheduled before the deadline (at most requests_max)
  std::mutex rate_mutex;   // guards the counters, idle and rate_finished
  uint64_t released = 0;   // requests whose scheduled time has come
  uint64_t sent = 0;       // of them, handed to a connection
  uint64_t unsent = 0;     // of them, dropped (send_until passed, or the load was stopped)
  size_t in_flight = 0;    // connections with a request
  std::deque<size_t> idle; // the others, idle longest first: every connection is kept in use
  bool rate_finished = false;
  asio::strand<asio::io_context::executor_type> pacer_strand{ioc.get_executor()};
  asio::steady_timer pacer{pacer_strand};

  // -- rounds
  int rounds_total = 0;
  int round = 0; // written by the last answer of a round only
  /// Connections not yet ready (before the round's writes) or not yet answered (after).
  std::atomic<size_t> round_pending{0};

  impl(async_load_options o, async_load_hooks h)
    : opts(std::move(o)), hooks(std::move(h)), timeout(opts.timeout_ms),
      ioc(static_cast<int>(std::max(1u, opts.threads))) {
    error_code ec;
    auto address = asio::ip::make_address(opts.host, ec);
    if (ec)
      throw std::runtime_error("async load: host '" + opts.host + "' is not an IP address");
    endpoint = tcp::endpoint(address, opts.port);
    SSL_CTX* native = ctx.native_handle();
    SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION);
    try {
      ctx.load_verify_file(opts.ca_file);
      ctx.set_verify_mode(ssl::verify_peer);
    } catch (const std::exception& e) {
      throw std::runtime_error("client CA file '" + opts.ca_file + "': " + e.what());
    }
    try {
      ctx.use_certificate_chain_file(opts.cert_file);
    } catch (const std::exception& e) {
      throw std::runtime_error("client certificate file '" + opts.cert_file + "': " + e.what());
    }
    try {
      ctx.use_private_key_file(opts.key_file, ssl::context::pem);
    } catch (const std::exception& e) {
      throw std::runtime_error("client key file '" + opts.key_file + "': " + e.what());
    }
    for (size_t i = 0; i < opts.connections; ++i) {
      if (opts.threads > 1)
        connections.push_back(
          std::make_unique<connection<asio::strand<asio::io_context::executor_type>>>(
            *this, i, asio::make_strand(ioc)));
      else // one thread: the io_context's own executor, no strand paid for
        connections.push_back(std::make_unique<connection<asio::io_context::executor_type>>(
          *this, i, ioc.get_executor()));
    }
  }

  ~impl() {
    for (auto& c : connections)
      c->close();
    // Let the closed sockets' cancelled operations (none are pending between phases) finish.
    ioc.restart();
    ioc.poll();
  }

  void connection_done() {
    if (active.fetch_sub(1) == 1)
      asio::post(watchdog_strand, [this] { watchdog.cancel(); });
  }

  // -- rate

  clock_type::time_point scheduled_at(uint64_t k) const {
    return rate_t0 + std::chrono::duration_cast<clock_type::duration>(
                       std::chrono::duration<double>(static_cast<double>(k) / rate));
  }

  /// Under rate_mutex: the requests waiting for a connection are not sent.
  void drop_waiting() {
    unsent += released - sent;
    sent = released;
  }

  /// Under rate_mutex: the phase ends when the schedule is over (or stopped), nothing waits and
  /// every answer is in.
  void check_rate_finished() {
    if (rate_finished || sent != released || in_flight != 0 || (!stop && released < rate_total))
      return;
    rate_finished = true;
    asio::post(pacer_strand, [this] { pacer.cancel(); }); // the wait for send_until, if armed
    connection_done();
  }

  /// The pacer (on pacer_strand): releases the requests whose time has come, hands them to idle
  /// connections, and waits for the next scheduled time (or, the schedule over, for send_until).
  void pace() {
    std::vector<std::pair<size_t, uint64_t>> handed; // connection, request
    {
      std::lock_guard lock(rate_mutex);
      if (rate_finished)
        return;
      auto now = clock_type::now();
      if (stop) {
        drop_waiting();
      } else {
        while (released < rate_total && scheduled_at(released) <= now)
          ++released;
        if (released == rate_total && sent < released && now >= send_until)
          drop_waiting();
        for (; sent < released && !idle.empty(); ++sent, ++in_flight) {
          handed.emplace_back(idle.front(), sent);
          idle.pop_front();
        }
      }
      std::optional<clock_type::time_point> wake;
      if (!stop && released < rate_total)
        wake = scheduled_at(released);
      else if (sent < released)
        wake = send_until;
      if (wake) {
        pacer.expires_at(*wake);
        pacer.async_wait([this](error_code ec) {
          if (!ec)
            pace();
        });
      } else {
        check_rate_finished();
      }
    }
    for (auto [c, k] : handed)
      connections[c]->send_at(scheduled_at(k));
  }

  /// Connection `index` has its answer (on its executor): the next waiting request, if any, goes on
  /// it; otherwise it becomes idle.
  std::optional<uint64_t> rate_free(size_t index) {
    std::lock_guard lock(rate_mutex);
    if (stop)
      drop_waiting();
    if (sent < released)
      return sent++;
    --in_flight;
    idle.push_back(index);
    check_rate_finished();
    return std::nullopt;
  }

  // -- rounds

  void start_round() {
    if (stop.load() || round == rounds_total)
      return connection_done();
    round_step(&connection_base::prepare_round);
  }

  /// A connection is connected (or failed to) for the round: the last one starts the writes, one
  /// after the other from this handler.
  void round_ready() {
    if (!last_of_round())
      return;
    round_step(&connection_base::send_now);
  }

  void round_answered() {
    if (!last_of_round())
      return;
    ++round;
    start_round();
  }

  /// Starts a step of the round on every connection, each counted in by last_of_round().
  void round_step(void (connection_base::*step)()) {
    round_pending = connections.size();
    for (auto& c : connections)
      ((*c).*step)();
  }

  /// Counts one connection in for the current step of a round; true for the last one.
  bool last_of_round() { return round_pending.fetch_sub(1) == 1; }

  void arm_watchdog() {
    auto period = std::clamp(timeout / 4, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
    watchdog.expires_after(period);
    watchdog.async_wait([this](error_code ec) {
      if (ec || active.load() == 0)
        return;
      auto now = clock_type::now();
      for (auto& c : connections)
        c->check_timeout(now);
      arm_watchdog();
    });
  }

  /// Starts the phase (`mode`): every connection (warm_up, closed) or the phase's coordinator
  /// (rate, rounds), and runs the io_context on `threads` threads (this one included) until the
  /// phase is done.
  void run_phase() {
    ioc.restart();
    bool own_loops = mode == run_mode::warm_up || mode == run_mode::closed;
    active = own_loops ? connections.size() : 1;
    asio::post(watchdog_strand, [this] { arm_watchdog(); });
    if (own_loops) {
      for (auto& c : connections)
        c->start(mode == run_mode::warm_up);
    } else if (mode == run_mode::rate) {
      asio::post(pacer_strand, [this] { pace(); });
    } else {
      asio::post(ioc, [this] { start_round(); });
    }
    std::vector<std::thread> extra;
    for (unsigned i = 1; i < opts.threads; ++i)
      extra.emplace_back([this] { ioc.run(); });
    ioc.run();
    for (auto& t : extra)
      t.join();
  }
};

async_load::async_load(async_load_options options, async_load_hooks hooks)
  : impl_(std::make_unique<impl>(std::move(options), std::move(hooks))) {
  // nop
}

async_load::~async_load() = default;

void async_load::warm_up() {
  impl_->mode = run_mode::warm_up;
  impl_->run_phase();
}

void async_load::run(std::chrono::steady_clock::time_point deadline, uint64_t requests_max) {
  impl_->mode = run_mode::closed;
  impl_->deadline = deadline;
  impl_->requests_max = requests_max;
  impl_->claimed = 0;
  impl_->run_phase();
}

async_rate_result async_load::run_at_rate(double per_second,
                                          std::chrono::steady_clock::time_point deadline,
                                          uint64_t requests_max,
                                          std::chrono::steady_clock::time_point send_until) {
  if (!(per_second > 0))
    throw std::invalid_argument("async load: the rate must be positive");
  auto& m = *impl_;
  m.mode = run_mode::rate;
  m.rate = per_second;
  m.rate_t0 = clock_type::now();
  m.send_until = send_until;
  // Requests k with t0 + k / rate < deadline.
  auto window = std::chrono::duration<double>(deadline - m.rate_t0).count();
  uint64_t total = window > 0 ? static_cast<uint64_t>(std::ceil(window * per_second)) : 0;
  while (total > 0 && m.scheduled_at(total - 1) >= deadline)
    --total;
  m.rate_total = std::min(total, requests_max);
  m.released = m.sent = m.unsent = 0;
  m.in_flight = 0;
  m.idle.clear();
  for (size_t i = 0; i < m.connections.size(); ++i)
    m.idle.push_back(i);
  m.rate_finished = false;
  m.stop = false;
  m.run_phase();
  return {m.released, m.unsent};
}

void async_load::run_rounds(int rounds) {
  impl_->mode = run_mode::rounds;
  impl_->rounds_total = rounds;
  impl_->round = 0;
  impl_->stop = false;
  impl_->run_phase();
}

bool async_load::stopped() const noexcept {
  return impl_->stop.load();
}

} // namespace kofu::bench
