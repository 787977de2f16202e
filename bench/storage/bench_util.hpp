#pragma once

// Small helpers shared by the benches of bench/issuance, bench/feeds and bench/storage: a steady
// clock, percentiles, the process's memory figures from /proc, a private temporary folder, and one
// way to print a figure ("name: value unit") so that scripts/bench.sh can pick lines out.

#include <chrono>
#include <cstdint>
#include <string>
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

} // namespace kofu::bench
