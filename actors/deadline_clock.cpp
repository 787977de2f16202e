#include "actors/deadline_clock.hpp"

#include <caf/actor_cast.hpp>

namespace kofu {

deadline_clock::deadline_clock(std::function<void(const caf::strong_actor_ptr&)> fire)
  : fire_(std::move(fire)), thread_([this] { run(); }) {
  // nop
}

deadline_clock::~deadline_clock() {
  {
    std::lock_guard guard(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

deadline_clock::ticket_ptr deadline_clock::arm(caf::weak_actor_ptr target,
                                               clock_type::time_point due) {
  auto t = ticket_ptr(new ticket(std::move(target)));
  bool wake = false;
  {
    std::lock_guard guard(mutex_);
    // Deadlines of sessions that ended go as soon as nothing older is live: the clock holds about
    // the live sessions' deadlines, not every one armed within issuance.deadline_ms.
    while (!queue_.empty() && queue_.top().t->cancelled())
      queue_.pop();
    queue_.push({due, t});
    // Only a deadline earlier than the one the thread waits for needs it awake: with deadlines
    // armed in the order they fall due, that is only when it waits for none.
    wake = due < sleeping_until_;
    if (wake)
      sleeping_until_ = due;
  }
  if (wake)
    wake_.notify_one();
  return t;
}

size_t deadline_clock::size() const {
  std::lock_guard guard(mutex_);
  return queue_.size();
}

void deadline_clock::run() {
  std::vector<ticket_ptr> due;
  std::unique_lock lock(mutex_);
  while (!stop_) {
    auto now = clock_type::now();
    // Everything due, and every cancelled deadline before the first live one, goes now.
    while (!queue_.empty()
           && (queue_.top().due <= now || queue_.top().t->cancelled())) {
      if (!queue_.top().t->cancelled())
        due.push_back(queue_.top().t);
      queue_.pop();
    }
    if (!due.empty()) {
      lock.unlock();
      for (auto& t : due)
        if (auto target = caf::actor_cast<caf::strong_actor_ptr>(t->target_))
          fire_(target);
      due.clear();
      lock.lock();
      continue; // time has passed meanwhile
    }
    sleeping_until_ = queue_.empty() ? clock_type::time_point::max() : queue_.top().due;
    if (queue_.empty())
      wake_.wait(lock);
    else
      wake_.wait_until(lock, sleeping_until_);
  }
}

} // namespace kofu
