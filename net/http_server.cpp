#include "net/http_server.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <limits>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

namespace kofu::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

/// What a lingering close reads and drops at most before giving up on the client.
constexpr size_t linger_bytes_max = 1024 * 1024;
/// Bytes read ahead while a request is being handled (to notice a client that went away).
constexpr size_t watch_read_bytes = 4 * 1024;
/// Back-off after a failed accept (out of descriptors): retrying at once would spin.
constexpr uint32_t accept_retry_ms = 100;

/// Answers with a body above one TLS record are corked while written (session::cork).
constexpr size_t cork_above_bytes = 16 * 1024;

constexpr std::string_view continue_100 = "HTTP/1.1 100 Continue\r\n\r\n";

std::string to_std(beast::string_view s) {
  return std::string(s.data(), s.size());
}

bool has_crlf(std::string_view s) {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

/// Owns an answer on its way to the strand: whatever happens to it (run, dropped with a stopped
/// io_context), the body is wiped.
struct pending_answer {
  http_response response;
  responder::written_handler on_written;
  ~pending_answer() { wipe(response.body); }
};

} // namespace

// -- shared state -------------------------------------------------------------------------------

namespace detail {

class connection_link;

/// What the listener and its sessions share; sessions hold it so that it outlives them.
struct server_state {
  http_server_options options;
  http_server::handler on_request;
  http_server::route_policy policy;
  std::vector<std::string> allowed_fingerprints; // normalized
  std::atomic<size_t> connections{0};

  /// Posting onto a destroyed io_context is undefined: every post from outside the I/O threads
  /// (responders, resume callbacks) holds this shared and checks `accepting_posts`.
  std::shared_mutex post_mutex;
  bool accepting_posts = true;

  std::mutex registry_mutex;
  std::unordered_map<connection_link*, std::weak_ptr<connection_link>> registry;

  template <class Executor, class F>
  bool post(const Executor& ex, F&& f) {
    std::shared_lock guard{post_mutex};
    if (!accepting_posts)
      return false;
    asio::post(ex, std::forward<F>(f));
    return true;
  }
};

/// What an exchange needs from its connection; implemented by session<Stream>.
class connection_link {
public:
  virtual ~connection_link() = default;
  /// Any thread. False when the answer cannot be posted any more.
  virtual bool post_answer(std::shared_ptr<exchange> ex, std::unique_ptr<pending_answer> a) = 0;
  /// Any thread: close the connection (server stop).
  virtual void post_close() = 0;
};

/// One request and its answer: the link between a responder (any thread) and its session (strand).
class exchange : public std::enable_shared_from_this<exchange> {
public:
  explicit exchange(std::weak_ptr<connection_link> link) : link_(std::move(link)) {
    // nop
  }

  bool send(http_response res, responder::written_handler on_written) {
    auto answer = std::make_unique<pending_answer>();
    answer->response = std::move(res);
    answer->on_written = std::move(on_written);
    if (sent_.exchange(true)) // a second send() is a programmer's mistake; the first one stands
      return false;
    if (over_.load())
      return false;
    auto link = link_.lock();
    if (!link)
      return false;
    return link->post_answer(shared_from_this(), std::move(answer));
  }

  bool sent() const noexcept { return sent_.load(); }

  bool is_open() const noexcept { return !over_.load() && !sent_.load() && !link_.expired(); }

  void set_on_close(std::function<void()> f) {
    std::unique_lock guard{mutex_};
    if (!close_fired_) {
      on_close_ = std::move(f);
      return;
    }
    guard.unlock();
    if (!sent_.load() && f)
      f();
  }

  /// Strand: the answer was written (or failed to be); no close callback any more.
  void finish() {
    over_ = true;
    std::lock_guard guard{mutex_};
    close_fired_ = true;
    on_close_ = nullptr;
  }

  /// Strand: the request can no longer be answered by its route (connection closed, or the server
  /// answered for it). Fires the close callback when send() was not called.
  void abandon() {
    over_ = true; // before reading sent_: a racing send() sees one or the other
    std::function<void()> f;
    {
      std::lock_guard guard{mutex_};
      if (close_fired_)
        return;
      close_fired_ = true;
      f = std::move(on_close_);
    }
    if (f && !sent_.load()) {
      try {
        f();
      } catch (...) {
        // a callback's failure must not take the I/O thread down
      }
    }
  }

private:
  std::weak_ptr<connection_link> link_;
  std::atomic<bool> sent_{false};
  std::atomic<bool> over_{false};
  std::mutex mutex_;
  bool close_fired_ = false;
  std::function<void()> on_close_;
};

} // namespace detail

// -- responder ----------------------------------------------------------------------------------

responder::responder() noexcept = default;

responder::responder(std::shared_ptr<detail::exchange> ex) noexcept : ex_(std::move(ex)) {
  // nop
}

responder::responder(responder&&) noexcept = default;

responder& responder::operator=(responder&& other) noexcept {
  if (this != &other) {
    responder dropped{std::move(*this)};
    ex_ = std::move(other.ex_);
  }
  return *this;
}

responder::~responder() {
  if (ex_ && !ex_->sent()) {
    try {
      ex_->send(problem_response(500, "internal_error", "Internal error"), {});
    } catch (...) {
      // nop: nothing more can be done for this request
    }
  }
}

bool responder::send(http_response response, written_handler on_written) {
  if (!ex_) {
    wipe(response.body);
    return false;
  }
  return ex_->send(std::move(response), std::move(on_written));
}

bool responder::is_open() const noexcept {
  return ex_ && ex_->is_open();
}

void responder::on_close(std::function<void()> f) {
  if (ex_)
    ex_->set_on_close(std::move(f));
}

// -- session ------------------------------------------------------------------------------------

namespace {

using detail::exchange;
using detail::server_state;

/// One connection. Every member is touched on the connection's strand only (the socket's
/// executor); the outside reaches in through post_answer / post_close / resume, which post.
template <class Stream>
class session : public detail::connection_link,
                public std::enable_shared_from_this<session<Stream>> {
public:
  static constexpr bool is_tls = !std::is_same_v<Stream, tcp::socket>;

  template <class... Args>
  session(std::shared_ptr<server_state> state, tcp::socket socket, Args&&... args)
    : state_(std::move(state)),
      opts_(state_->options),
      timer_(socket.get_executor()),
      stream_(std::move(socket), std::forward<Args>(args)...) {
    error_code ec;
    auto ep = lowest().remote_endpoint(ec);
    if (!ec) {
      peer_.remote_address = ep.address().to_string();
      peer_.remote_port = ep.port();
    }
  }

  ~session() override {
    if (current_)
      current_->abandon();
    abort_sink("connection closed");
    wipe_buffers();
    {
      std::lock_guard guard{state_->registry_mutex};
      state_->registry.erase(this);
    }
    --state_->connections;
  }

  void start() {
    if constexpr (is_tls)
      do_handshake();
    else
      do_idle();
  }

  bool post_answer(std::shared_ptr<exchange> ex, std::unique_ptr<pending_answer> a) override {
    return state_->post(executor(), [self = this->shared_from_this(), ex = std::move(ex),
                                     a = std::move(a)]() mutable {
      self->on_answer(std::move(ex), std::move(a));
    });
  }

  void post_close() override {
    asio::post(executor(), [self = this->shared_from_this()] { self->close_now("server stop"); });
  }

  /// The connection's strand.
  auto executor() { return lowest().get_executor(); }

private:
  enum class phase {
    handshake,
    idle,       // waiting for the first byte of a request (watch read)
    reading,    // header and buffered body
    continuing, // writing "100 Continue"
    streaming,  // reading one chunk of a streamed body
    sink_wait,  // a chunk is with the sink, waiting for resume()
    handling,   // the handler has the request
    writing,
    lingering,  // answer written, dropping what the client still sends before closing
    closed,
  };

  using self_ptr = std::shared_ptr<session>;

  self_ptr self() { return this->shared_from_this(); }

  /// TCP_CORK around a large answer. TLS cuts it into 16 KB records, and Asio sends each record
  /// by itself; with TCP_NODELAY every send went out as its own segment (four for a certificate),
  /// each a pass through the loopback or network stack and a wake-up of the reader. Corked, the
  /// records leave together when the write completes: 12,537 data segments for 3,124 answers
  /// before, 3,318 for 3,196 after (tcpdump, docs/BENCH.md). Failure to set it only costs
  /// segments.
  void cork(bool on) {
    if (on == corked_)
      return;
    corked_ = on;
    if (!lowest().is_open())
      return;
    int value = on ? 1 : 0;
    ::setsockopt(lowest().native_handle(), IPPROTO_TCP, TCP_CORK, &value, sizeof value);
  }

  tcp::socket& lowest() {
    if constexpr (is_tls)
      return stream_.next_layer();
    else
      return stream_;
  }

  // -- timer: one per connection, re-armed per phase; a generation number discards a wait that
  // completed (already queued) before it was cancelled.

  void arm(uint32_t ms) {
    ++timer_gen_;
    timed_out_ = false;
    timer_.expires_after(std::chrono::milliseconds(ms));
    timer_.async_wait([self = self(), gen = timer_gen_](error_code ec) {
      if (!ec && gen == self->timer_gen_)
        self->on_timeout();
    });
  }

  void disarm() {
    ++timer_gen_;
    timer_.cancel();
  }

  void on_timeout() {
    switch (phase_) {
      case phase::reading:
      case phase::streaming: {
        // The pending read completes with operation_aborted and answers 408 (on_read_error).
        timed_out_ = true;
        error_code ec;
        lowest().cancel(ec);
        break;
      }
      case phase::handling:
        if (current_) {
          current_->abandon();
          current_.reset();
        }
        write_answer(problem_response(500, "internal_error", "No answer in time"), {}, true);
        break;
      case phase::sink_wait:
        abort_sink("the body's consumer did not resume in time");
        write_answer(problem_response(500, "internal_error", "No answer in time"), {}, true);
        break;
      default:
        close_now("timeout");
    }
  }

  // -- handshake

  void do_handshake() {
    if constexpr (is_tls) {
      phase_ = phase::handshake;
      arm(opts_.handshake_timeout_ms);
      stream_.async_handshake(ssl::stream_base::server,
                              [self = self()](error_code ec) { self->on_handshake(ec); });
    }
  }

  void on_handshake(error_code ec) {
    if (phase_ == phase::closed)
      return;
    disarm();
    if (ec)
      return close_now("handshake failed");
    if constexpr (is_tls) {
      if (X509* cert = SSL_get1_peer_certificate(stream_.native_handle())) {
        peer_.client_cert_sha256 = fingerprint_sha256(cert);
        peer_.client_cert_subject_cn = subject_common_name(cert);
        X509_free(cert);
      }
      const auto& allowed = state_->allowed_fingerprints;
      if (!allowed.empty()
          && std::find(allowed.begin(), allowed.end(), peer_.client_cert_sha256) == allowed.end())
        return close_now("client certificate not in the allow-list");
    }
    do_idle();
  }

  // -- idle: a watch read waits for the first byte of the next request (and, while a request is
  // handled, notices a client that went away).

  void do_idle() {
    phase_ = phase::idle;
    if (buffer_.size() > 0) {
      // Bytes of the next request arrived while the last one was handled.
      if (watch_pending_) {
        watch_cancelled_ = true;
        error_code ec;
        lowest().cancel(ec); // on_watch then starts the read
      } else {
        do_read_request();
      }
      return;
    }
    arm(opts_.idle_timeout_ms);
    do_watch();
  }

  void do_watch() {
    if (watch_pending_)
      return;
    watch_pending_ = true;
    stream_.async_read_some(buffer_.prepare(watch_read_bytes),
                            [self = self()](error_code ec, size_t n) { self->on_watch(ec, n); });
  }

  void on_watch(error_code ec, size_t n) {
    watch_pending_ = false;
    const bool cancelled = std::exchange(watch_cancelled_, false);
    if (phase_ == phase::closed || phase_ == phase::lingering)
      return;
    if (ec && !(cancelled && ec == asio::error::operation_aborted))
      return close_now("peer closed");
    buffer_.commit(n);
    if (phase_ == phase::idle)
      return do_read_request();
    if ((phase_ == phase::handling || phase_ == phase::writing)
        && buffer_.size() < opts_.header_bytes_max)
      do_watch();
  }

  // -- request

  void do_read_request() {
    phase_ = phase::reading;
    arm(opts_.read_timeout_ms);
    header_parser_.emplace();
    header_parser_->header_limit(static_cast<std::uint32_t>(opts_.header_bytes_max));
    // Checked against the route's limit below. Not boost::none: Beast 1.74 compares
    // `content_length > optional` and an empty optional is less than any length.
    header_parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    http::async_read_header(
      stream_, buffer_, *header_parser_,
      [self = self()](error_code ec, size_t bytes) { self->on_read_header(ec, bytes); });
  }

  /// `bytes`: the request line and the header fields, as the parser consumed them.
  void on_read_header(error_code ec, size_t bytes) {
    if (phase_ == phase::closed)
      return;
    // Beast's limit lets a few dozen bytes past it through (it checks what it has buffered, not
    // what it parsed): the exact bound is checked here.
    if (!ec && bytes > opts_.header_bytes_max)
      ec = http::error::header_limit;
    if (ec)
      return on_read_error(ec);
    const auto& msg = header_parser_->get();
    pending_ = http_request{};
    pending_.method = to_std(msg.method_string());
    pending_.target = to_std(msg.target());
    pending_.version = msg.version();
    for (const auto& f : msg)
      pending_.headers.push_back({to_std(f.name_string()), to_std(f.value())});
    pending_.peer = peer_;
    keep_alive_ = msg.keep_alive();
    const bool expect_continue =
      msg.version() >= 11 && iequals(to_std(msg[http::field::expect]), "100-continue");

    body_policy policy;
    if (state_->policy) {
      try {
        policy = state_->policy(pending_);
      } catch (...) {
        policy = body_policy::reject(problem_response(500, "internal_error", "Internal error"));
      }
    }
    pending_.route_context = std::move(policy.context);
    const auto length = header_parser_->content_length();
    switch (policy.kind) {
      case body_policy::kind_type::reject:
        disarm();
        return write_answer(std::move(policy.response), {}, true);
      case body_policy::kind_type::buffer: {
        const size_t max = policy.body_bytes_max != 0 ? policy.body_bytes_max
                                                      : opts_.body_bytes_max;
        if (length && *length > max)
          return answer_error(413, "payload_too_large", "Payload too large");
        if (header_parser_->is_done())
          return dispatch();
        body_parser_.emplace(std::move(*header_parser_));
        header_parser_.reset();
        body_parser_->body_limit(max);
        return maybe_continue(expect_continue, [this] {
          http::async_read(stream_, buffer_, *body_parser_,
                           [self = self()](error_code ec, size_t) { self->on_read_body(ec); });
        });
      }
      case body_policy::kind_type::stream: {
        if (!policy.sink || !policy.sink->on_chunk)
          return answer_error(500, "internal_error", "Internal error");
        const size_t max = policy.body_bytes_max;
        sink_ = std::move(policy.sink);
        if (max != 0 && length && *length > max) {
          // The sink was set up for this body (a feed waits for it): told, as for a body that
          // goes over its limit while it streams.
          abort_sink("the body's declared length is over its limit");
          return answer_error(413, "payload_too_large", "Payload too large");
        }
        stream_parser_.emplace(std::move(*header_parser_));
        header_parser_.reset();
        stream_parser_->body_limit(max != 0 ? max : std::numeric_limits<std::uint64_t>::max());
        if (chunk_.size() != opts_.stream_chunk_bytes)
          chunk_.resize(std::max<size_t>(opts_.stream_chunk_bytes, 1));
        if (stream_parser_->is_done())
          return hand_chunk(0, true);
        return maybe_continue(expect_continue, [this] { do_stream_read(); });
      }
    }
  }

  /// Answers "100 Continue" first when the client waits for it (curl does for large uploads).
  template <class Next>
  void maybe_continue(bool expect_continue, Next next) {
    if (!expect_continue)
      return next();
    phase_ = phase::continuing;
    arm(opts_.write_timeout_ms);
    asio::async_write(stream_, asio::buffer(continue_100.data(), continue_100.size()),
                      [self = self(), next](error_code ec, size_t) {
                        if (self->phase_ == phase::closed)
                          return;
                        if (ec)
                          return self->close_now("write failed");
                        self->phase_ = phase::reading;
                        self->arm(self->opts_.read_timeout_ms);
                        next();
                      });
  }

  void on_read_body(error_code ec) {
    if (phase_ == phase::closed)
      return;
    if (ec)
      return on_read_error(ec);
    pending_.body = std::move(body_parser_->get().body());
    body_parser_.reset();
    dispatch();
  }

  void on_read_error(error_code ec) {
    disarm();
    header_parser_.reset();
    body_parser_.reset();
    stream_parser_.reset();
    if (timed_out_)
      return answer_error(408, "request_timeout", "Request not received in time");
    if (ec == http::error::header_limit)
      return answer_error(431, "header_too_large", "Request header fields too large");
    if (ec == http::error::body_limit)
      return answer_error(413, "payload_too_large", "Payload too large");
    if (ec == http::error::end_of_stream || ec == http::error::partial_message)
      return close_now("peer closed");
    if (ec.category() == http::make_error_code(http::error::bad_method).category())
      return answer_error(400, "bad_request", "Malformed HTTP request");
    close_now("read failed");
  }

  // -- streamed body

  void do_stream_read() {
    phase_ = phase::streaming;
    arm(opts_.read_timeout_ms);
    auto& body = stream_parser_->get().body();
    body.data = chunk_.data();
    body.size = chunk_.size();
    body.more = true;
    http::async_read_some(stream_, buffer_, *stream_parser_,
                          [self = self()](error_code ec, size_t) { self->on_stream_read(ec); });
  }

  void on_stream_read(error_code ec) {
    if (phase_ == phase::closed)
      return;
    if (ec == http::error::need_buffer)
      ec = {};
    if (ec) {
      abort_sink(timed_out_ ? "read timeout" : "body broken or over its limit, or client gone");
      return on_read_error(ec);
    }
    disarm();
    const size_t got = chunk_.size() - stream_parser_->get().body().size;
    const bool last = stream_parser_->is_done();
    if (got == 0 && !last)
      return do_stream_read();
    hand_chunk(got, last);
  }

  void hand_chunk(size_t got, bool last) {
    phase_ = phase::sink_wait;
    stream_done_ = last;
    const uint64_t gen = ++resume_gen_;
    // The timer keeps the session alive meanwhile; resume() only holds it weakly so that a sink
    // outliving the server cannot post into a destroyed io_context.
    arm(opts_.handler_timeout_ms);
    std::weak_ptr<session> weak = self();
    auto state = state_;
    std::function<void()> resume = [weak, state, gen] {
      if (auto s = weak.lock())
        state->post(s->executor(), [s, gen] { s->on_resume(gen); });
    };
    try {
      sink_->on_chunk(std::string_view{chunk_.data(), got}, last, std::move(resume));
    } catch (...) {
      abort_sink("the body's consumer failed");
      write_answer(problem_response(500, "internal_error", "Internal error"), {}, true);
    }
  }

  void on_resume(uint64_t gen) {
    if (phase_ != phase::sink_wait || gen != resume_gen_)
      return; // late or repeated resume()
    ++resume_gen_;
    disarm();
    if (!stream_done_)
      return do_stream_read();
    stream_parser_.reset();
    sink_.reset();
    dispatch();
  }

  void abort_sink(std::string_view why) {
    if (auto sink = std::move(sink_); sink && sink->on_abort) {
      try {
        sink->on_abort(why);
      } catch (...) {
        // nop
      }
    }
  }

  // -- handler and answer

  void dispatch() {
    disarm();
    header_parser_.reset();
    phase_ = phase::handling;
    current_ = std::make_shared<exchange>(this->weak_from_this());
    arm(opts_.handler_timeout_ms);
    if (buffer_.size() < opts_.header_bytes_max)
      do_watch();
    try {
      state_->on_request(std::move(pending_), responder{current_});
    } catch (...) {
      if (current_ && !current_->sent())
        responder{current_}.send(problem_response(500, "internal_error", "Internal error"));
    }
    pending_ = http_request{};
  }

  void on_answer(std::shared_ptr<exchange> ex, std::unique_ptr<pending_answer> a) {
    if (ex != current_ || phase_ != phase::handling) {
      // Connection gone or the server answered for it already.
      if (a->on_written) {
        try {
          a->on_written(false);
        } catch (...) {
          // nop
        }
      }
      return;
    }
    disarm();
    write_answer(std::move(a->response), std::move(a->on_written), false);
  }

  void answer_error(unsigned status, std::string_view code, std::string_view title) {
    write_answer(problem_response(status, code, title), {}, true);
  }

  void write_answer(http_response res, responder::written_handler on_written, bool close_after) {
    phase_ = phase::writing;
    unsigned status = res.status;
    bool valid = status >= 200 && status <= 599;
    for (const auto& h : res.headers)
      valid = valid && !h.name.empty() && !has_crlf(h.name) && !has_crlf(h.value);
    if (!valid) { // a route's mistake: answer what is certainly right
      wipe(res.body);
      res = problem_response(500, "internal_error", "Internal error");
      status = 500;
    }
    res_.emplace();
    res_->version(11);
    res_->result(status);
    bool close = close_after || !keep_alive_;
    for (auto& h : res.headers) {
      if (iequals(h.name, "Connection")) {
        close = close || iequals(h.value, "close");
        continue;
      }
      if (iequals(h.name, "Content-Length") || iequals(h.name, "Transfer-Encoding"))
        continue; // ours to set
      res_->insert(h.name, h.value);
    }
    res_->body() = std::move(res.body);
    wipe(res.body);
    res_->keep_alive(!close);
    res_->prepare_payload();
    if (res_->result() == http::status::no_content)
      res_->erase(http::field::content_length); // RFC 9110 8.6: never on a 204
    close_after_ = close;
    on_written_ = std::move(on_written);
    arm(opts_.write_timeout_ms);
    cork(res_->body().size() > cork_above_bytes);
    http::async_write(stream_, *res_,
                      [self = self()](error_code ec, size_t) { self->on_write(ec); });
  }

  void on_write(error_code ec) {
    disarm();
    cork(false);
    if (res_) {
      wipe(res_->body());
      res_.reset();
    }
    if (current_) {
      current_->finish();
      current_.reset();
    }
    if (auto f = std::move(on_written_)) {
      try {
        f(!ec && phase_ != phase::closed);
      } catch (...) {
        // nop
      }
    }
    if (phase_ == phase::closed)
      return;
    if (ec)
      return close_now("write failed");
    if (close_after_)
      return do_linger();
    do_idle();
  }

  // -- close

  /// Half-close, then read and drop what the client still sends (a body we refused) for a while:
  /// closing at once with unread bytes makes the kernel send a reset, and the client would see
  /// that instead of our answer. No TLS close_notify: every answer has a Content-Length.
  void do_linger() {
    phase_ = phase::lingering;
    error_code ec;
    lowest().cancel(ec); // the watch read, if any; the raw reads below take over
    watch_pending_ = false;
    lowest().shutdown(tcp::socket::shutdown_send, ec);
    if (ec)
      return close_now("shutdown failed");
    arm(opts_.linger_timeout_ms);
    linger_scratch_.resize(4096);
    do_linger_read();
  }

  void do_linger_read() {
    lowest().async_read_some(asio::buffer(linger_scratch_),
                             [self = self()](error_code ec, size_t n) {
                               if (self->phase_ != phase::lingering)
                                 return;
                               self->lingered_ += n;
                               if (ec || self->lingered_ > linger_bytes_max)
                                 return self->close_now("closed after answer");
                               self->do_linger_read();
                             });
  }

  void close_now(std::string_view why) {
    if (phase_ == phase::closed)
      return;
    phase_ = phase::closed;
    disarm();
    error_code ec;
    lowest().shutdown(tcp::socket::shutdown_both, ec);
    lowest().close(ec);
    if (current_) {
      current_->abandon();
      current_.reset();
    }
    abort_sink(why);
  }

  void wipe_buffers() {
    // The read buffer held the request (resident codes, tokens); wipe all of its storage.
    buffer_.consume(buffer_.size());
    auto all = buffer_.prepare(buffer_.capacity());
    if (all.size() > 0)
      explicit_bzero(all.data(), all.size());
    if (!chunk_.empty())
      explicit_bzero(chunk_.data(), chunk_.size());
    wipe(pending_.body);
  }

  std::shared_ptr<server_state> state_;
  const http_server_options& opts_;
  asio::steady_timer timer_;
  Stream stream_;
  beast::flat_buffer buffer_;
  peer_info peer_;
  phase phase_ = phase::idle;
  uint64_t timer_gen_ = 0;
  bool timed_out_ = false;
  bool watch_pending_ = false;
  bool watch_cancelled_ = false;
  bool keep_alive_ = false;
  bool close_after_ = false;
  bool corked_ = false;

  std::optional<http::request_parser<http::empty_body>> header_parser_;
  std::optional<http::request_parser<http::string_body>> body_parser_;
  std::optional<http::request_parser<http::buffer_body>> stream_parser_;
  http_request pending_;

  std::shared_ptr<chunk_sink> sink_;
  std::vector<char> chunk_;
  bool stream_done_ = false;
  uint64_t resume_gen_ = 0;

  std::shared_ptr<exchange> current_;
  std::optional<http::response<http::string_body>> res_;
  responder::written_handler on_written_;

  std::vector<char> linger_scratch_;
  size_t lingered_ = 0;
};

bool is_loopback(const asio::ip::address& a) {
  if (a.is_loopback())
    return true;
  return a.is_v6() && a.to_v6().is_v4_mapped()
         && asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).is_loopback();
}

} // namespace

// -- listener -----------------------------------------------------------------------------------

class http_server::impl {
public:
  impl(http_server_options options, handler on_request, route_policy policy)
    : state_(std::make_shared<server_state>()) {
    state_->options = std::move(options);
    state_->on_request = std::move(on_request);
    state_->policy = std::move(policy);
    if (!state_->on_request)
      throw std::invalid_argument("http_server needs a request handler");
  }

  ~impl() { stop(); }

  void start() {
    if (started_)
      throw std::logic_error("http_server started twice");
    auto& o = state_->options;
    if (o.io_threads == 0 || o.header_bytes_max == 0 || o.connections_max == 0)
      throw std::runtime_error("http_server: io_threads, header_bytes_max and connections_max "
                               "must be positive");
    error_code ec;
    auto host = o.host == "localhost" ? std::string{"127.0.0.1"} : o.host;
    auto address = asio::ip::make_address(host, ec);
    if (ec)
      throw std::runtime_error("listen address '" + o.host + "' is not an IP address");
    if (!o.tls && !is_loopback(address))
      throw std::runtime_error("plain HTTP refused on '" + o.host
                               + "': only a loopback address may listen without TLS");
    if (o.tls) {
      ssl_ctx_.emplace(ssl::context::tls_server);
      configure_server_tls(ssl_ctx_->native_handle(), o.tls_files);
      for (const auto& fp : o.tls_files.client_fingerprints_sha256)
        state_->allowed_fingerprints.push_back(normalize_fingerprint(fp));
    }
    tcp::endpoint ep{address, o.port};
    const std::string where = o.host + ":" + std::to_string(o.port);
    acceptor_.open(ep.protocol(), ec);
    if (!ec)
      acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec)
      acceptor_.bind(ep, ec);
    if (!ec)
      acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      error_code ignored;
      acceptor_.close(ignored);
      throw std::runtime_error("cannot listen on " + where + ": " + ec.message());
    }
    port_ = acceptor_.local_endpoint(ec).port();
    started_ = true;
    do_accept();
    running_ = o.io_threads;
    for (size_t i = 0; i < o.io_threads; ++i)
      threads_.emplace_back([this] { run(); });
  }

  void stop() {
    if (!started_ || stopped_)
      return;
    for (const auto& t : threads_)
      if (t.get_id() == std::this_thread::get_id())
        throw std::logic_error("http_server::stop() called from one of its I/O threads");
    stopped_ = true;
    asio::post(acceptor_.get_executor(), [this] {
      error_code ec;
      acceptor_.close(ec);
      retry_timer_.cancel();
    });
    std::vector<std::shared_ptr<detail::connection_link>> live;
    {
      std::lock_guard guard{state_->registry_mutex};
      for (auto& [ptr, weak] : state_->registry)
        if (auto s = weak.lock())
          live.push_back(std::move(s));
    }
    for (auto& s : live)
      s->post_close();
    live.clear();
    // Every operation ends once its socket is closed, so the threads return by themselves; a
    // bounded wait guards against a stuck one.
    {
      std::unique_lock guard{run_mutex_};
      if (!run_cv_.wait_for(guard, std::chrono::seconds(5), [this] { return running_ == 0; }))
        ioc_.stop();
    }
    for (auto& t : threads_)
      t.join();
    threads_.clear();
    std::unique_lock guard{state_->post_mutex};
    state_->accepting_posts = false;
  }

  uint16_t port() const noexcept { return port_; }

  size_t connections() const noexcept { return state_->connections.load(); }

  const http_server_options& options() const noexcept { return state_->options; }

private:
  void run() {
    for (;;) {
      try {
        ioc_.run();
        break;
      } catch (...) {
        // A handler that throws is a bug elsewhere; the listener keeps serving.
      }
    }
    std::lock_guard guard{run_mutex_};
    if (--running_ == 0)
      run_cv_.notify_all();
  }

  void do_accept() {
    acceptor_.async_accept(asio::make_strand(ioc_), [this](error_code ec, tcp::socket socket) {
      on_accept(ec, std::move(socket));
    });
  }

  void on_accept(error_code ec, tcp::socket socket) {
    if (stopped_ || !acceptor_.is_open())
      return;
    if (ec) {
      // Out of descriptors and the like: try again shortly rather than spin.
      retry_timer_.expires_after(std::chrono::milliseconds(accept_retry_ms));
      retry_timer_.async_wait([this](error_code e) {
        if (!e && !stopped_)
          do_accept();
      });
      return;
    }
    if (state_->connections.load() >= state_->options.connections_max) {
      error_code ignored;
      socket.close(ignored); // over the limit: no TLS work spent on it
    } else {
      ++state_->connections;
      // Request/response traffic: without TCP_NODELAY a response written in more than one
      // segment waits for the client's delayed ACK (about 40 ms on Linux).
      error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      std::shared_ptr<detail::connection_link> link;
      if (ssl_ctx_) {
        auto s = std::make_shared<session<ssl::stream<tcp::socket>>>(state_, std::move(socket),
                                                                     *ssl_ctx_);
        link = s;
        register_session(link);
        asio::post(s->executor(), [s] { s->start(); });
      } else {
        auto s = std::make_shared<session<tcp::socket>>(state_, std::move(socket));
        link = s;
        register_session(link);
        asio::post(s->executor(), [s] { s->start(); });
      }
    }
    do_accept();
  }

  void register_session(const std::shared_ptr<detail::connection_link>& link) {
    std::lock_guard guard{state_->registry_mutex};
    state_->registry.emplace(link.get(), link);
  }

  std::shared_ptr<server_state> state_;
  std::optional<ssl::context> ssl_ctx_; // before ioc_: sessions still queued in it use it
  asio::io_context ioc_;
  tcp::acceptor acceptor_{asio::make_strand(ioc_)};
  asio::steady_timer retry_timer_{acceptor_.get_executor()};
  std::vector<std::thread> threads_;
  std::mutex run_mutex_;
  std::condition_variable run_cv_;
  size_t running_ = 0;
  uint16_t port_ = 0;
  bool started_ = false;
  std::atomic<bool> stopped_{false};
};

http_server::http_server(http_server_options options, handler on_request, route_policy policy)
  : impl_(std::make_unique<impl>(std::move(options), std::move(on_request), std::move(policy))) {
  // nop
}

http_server::~http_server() = default;

void http_server::start() {
  impl_->start();
}

void http_server::stop() {
  impl_->stop();
}

uint16_t http_server::port() const noexcept {
  return impl_->port();
}

size_t http_server::connections() const noexcept {
  return impl_->connections();
}

const http_server_options& http_server::options() const noexcept {
  return impl_->options();
}

} // namespace kofu::net
