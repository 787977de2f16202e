#pragma once

// Bulk work (rendering, feed loading) runs on threads with a lower scheduling priority than the
// I/O threads, so that under full load the node still reads requests, answers 503 overloaded and
// meets deadlines promptly: the CPU goes first to what answers, then to what produces.

namespace kofu {

/// How much nicer than the process the render workers run.
inline constexpr int render_nice_increment = 2;
/// How much nicer than the process a feed being loaded runs (issuance keeps answering meanwhile).
inline constexpr int feed_nice_increment = 10;

/// Raises the calling thread's nice value by `increment` (Linux keeps one per thread). Needs no
/// privilege; best effort: a failure leaves the priority as it was.
void lower_this_thread_priority(int increment) noexcept;

} // namespace kofu
