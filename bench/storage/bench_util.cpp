#include "bench/storage/bench_util.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <sys/resource.h>
#include <time.h>

namespace kofu::bench {

double quantile(std::vector<double>& values, double q) {
  if (values.empty())
    return 0;
  std::sort(values.begin(), values.end());
  auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(values.size())));
  rank = std::clamp<size_t>(rank, 1, values.size());
  return values[rank - 1];
}

namespace {

uint64_t status_kib(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  std::string prefix = std::string(field) + ":";
  while (std::getline(in, line))
    if (line.rfind(prefix, 0) == 0)
      return std::strtoull(line.c_str() + prefix.size(), nullptr, 10);
  return 0;
}

} // namespace

double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec)
         + static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

uint64_t peak_rss_bytes() {
  return status_kib("VmHWM") * 1024;
}

uint64_t current_rss_bytes() {
  return status_kib("VmRSS") * 1024;
}

bool reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

temp_dir::temp_dir(const std::string& prefix, std::string parent) {
  if (parent.empty()) {
    const char* t = std::getenv("TMPDIR");
    parent = t && *t ? t : "/tmp";
  }
  std::string pattern = parent + "/" + prefix + ".XXXXXX";
  if (!mkdtemp(pattern.data()))
    throw std::runtime_error("cannot create a temporary folder under " + parent);
  path_ = pattern;
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void figure(const std::string& name, const std::string& value) {
  std::printf("%s: %s\n", name.c_str(), value.c_str());
  std::fflush(stdout);
}

std::string fmt(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

double load_average_1min() {
  std::ifstream in("/proc/loadavg");
  double v = 0;
  in >> v;
  return v;
}

stall_meter::stall_meter(std::chrono::microseconds tick)
  : tick_(tick), thread_([this] {
      while (!stop_.load()) {
        auto t0 = clock_type::now();
        std::this_thread::sleep_for(tick_);
        auto late = clock_type::now() - t0 - tick_;
        auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(late).count();
        if (ns > max_ns_.load())
          max_ns_.store(ns);
        if (late > std::chrono::milliseconds(10))
          over_10ms_.fetch_add(1);
      }
    }) {
  // nop
}

stall_meter::~stall_meter() {
  stop();
}

stall_meter::result stall_meter::stop() {
  stop_.store(true);
  if (thread_.joinable())
    thread_.join();
  return {static_cast<double>(max_ns_.load()) / 1e6, over_10ms_.load()};
}

} // namespace kofu::bench
