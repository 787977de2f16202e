#pragma once

// Small helpers shared by the benches of bench/issuance, bench/feeds and bench/storage: a steady
// clock, percentiles, the process's memory figures from /proc, a private temporary folder, and one
// way to print a figure ("name: value unit") so that scripts/bench.sh can pick lines out.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace kofu::bench {

using clock_type = std::chrono::steady_clock;

inline double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

/// The q-quantile (0..1) of `values` by nearest rank; sorts `values`. 0 when empty.
double quantile(std::vector<double>& values, double q);

/// CPU seconds (user + system) of this process, every thread (getrusage RUSAGE_SELF).
double process_cpu_seconds();
/// CPU seconds of the calling thread (CLOCK_THREAD_CPUTIME_ID).
double thread_cpu_seconds();

/// Peak resident set size of this process in bytes (VmHWM of /proc/self/status); 0 if unknown.
uint64_t peak_rss_bytes();
/// Current resident set size in bytes (VmRSS).
uint64_t current_rss_bytes();
/// Resets the peak (VmHWM) to the current RSS (writes 5 to /proc/self/clear_refs, Linux >= 4.0).
/// Returns false when the kernel refused.
bool reset_peak_rss();

/// A fresh folder under `parent` (default $TMPDIR or /tmp), removed with everything in it by the
/// destructor.
class temp_dir {
public:
  explicit temp_dir(const std::string& prefix, std::string parent = {});
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::string& path() const { return path_; }

private:
  std::string path_;
};

/// Prints "name: value" on stdout, flushed (one figure a line).
void figure(const std::string& name, const std::string& value);
std::string fmt(double v, int decimals = 1);

/// Load average of the last minute (/proc/loadavg), for the notes printed with the figures.
double load_average_1min();

/// How late the machine ran while it was running: a thread that sleeps `tick` at a time and notes
/// how much later than asked it woke (a paused VM, a stolen CPU, a full run queue all show). A
/// latency spike of the node that coincides with a stall of this size is the machine's, not the
/// node's.
class stall_meter {
public:
  explicit stall_meter(std::chrono::microseconds tick = std::chrono::milliseconds(5));
  ~stall_meter();
  stall_meter(const stall_meter&) = delete;
  stall_meter& operator=(const stall_meter&) = delete;

  struct result {
    double max_ms = 0;       // the longest oversleep
    uint64_t over_10ms = 0;  // oversleeps longer than 10 ms
  };
  /// Stops the thread (once) and returns what it saw.
  result stop();

private:
  std::chrono::microseconds tick_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> max_ns_{0};
  std::atomic<uint64_t> over_10ms_{0};
  std::thread thread_;
};

} // namespace kofu::bench
