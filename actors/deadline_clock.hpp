#pragma once

// The sessions' deadlines on one thread of their own. CAF's clock (delayed_send) wakes its thread
// for every message scheduled, and again when it is due: two wake-ups per request, about 5% of the
// node's CPU at saturation (docs/BENCH.md, session 5). Here a session arms a deadline that is later
// than every one armed before it (they all run issuance.deadline_ms from their start), so arming
// wakes nobody unless the clock has nothing to wait for; a session that ends cancels its deadline,
// and cancelled deadlines are dropped without a wake-up of their own. The thread wakes when a live
// deadline is due, or when there was none.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <queue>
#include <thread>
#include <vector>

#include <caf/actor_control_block.hpp>

namespace kofu {

class deadline_clock {
public:
  using clock_type = std::chrono::steady_clock;

  /// One armed deadline; cancelled when its session ends (the session holds it).
  class ticket {
  public:
    void cancel() { cancelled_.store(true, std::memory_order_relaxed); }
    bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }

  private:
    friend class deadline_clock;
    explicit ticket(caf::weak_actor_ptr target) : target_(std::move(target)) {}
    caf::weak_actor_ptr target_;
    std::atomic<bool> cancelled_{false};
  };
  using ticket_ptr = std::shared_ptr<ticket>;

  /// Calls `fire(target)` for each deadline that comes due uncancelled, on the clock's thread,
  /// while the target is alive.
  explicit deadline_clock(std::function<void(const caf::strong_actor_ptr&)> fire);
  ~deadline_clock();
  deadline_clock(const deadline_clock&) = delete;
  deadline_clock& operator=(const deadline_clock&) = delete;

  /// Fires for `target` at `due` unless cancelled first. Drops the cancelled deadlines that come
  /// first, so that what the clock holds stays near the number of live sessions.
  ticket_ptr arm(caf::weak_actor_ptr target, clock_type::time_point due);

  /// Deadlines held, cancelled ones included (tests).
  size_t size() const;

private:
  struct entry {
    clock_type::time_point due;
    ticket_ptr t;
    bool operator>(const entry& o) const { return due > o.due; }
  };
  void run();

  std::function<void(const caf::strong_actor_ptr&)> fire_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::priority_queue<entry, std::vector<entry>, std::greater<>> queue_;
  /// When the thread means to wake next (max: it waits for an arm).
  clock_type::time_point sleeping_until_ = clock_type::time_point::max();
  bool stop_ = false;
  std::thread thread_;
};

} // namespace kofu
