#include "actors/thread_priority.hpp"

#include <cerrno>

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace kofu {

void lower_this_thread_priority(int increment) noexcept {
  auto tid = static_cast<id_t>(::syscall(SYS_gettid));
  errno = 0;
  int current = ::getpriority(PRIO_PROCESS, tid);
  if (current == -1 && errno != 0)
    return;
  ::setpriority(PRIO_PROCESS, tid, current + increment);
}

} // namespace kofu
