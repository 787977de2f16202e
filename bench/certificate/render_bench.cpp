// Measures the certificate renderer: the fast path (HarfBuzz subsets + precomputed static page)
// against the PoDoFo CreateFontSubset baseline in the same run, and throughput with 1, 2, 4
// threads each owning a renderer. Prints one line per figure; see docs/CERTIFICATE.md.
//
//   bench_render [fast_renders] [baseline_renders]
//   KOFU_BENCH_DUMP=/tmp bench_render   also writes fast.pdf, fast_ipamj.pdf and baseline.pdf

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "certificate/certificate.hpp"
#include "certificate/podofo_baseline.hpp"

using namespace kofu;
using namespace kofu::certificate;

namespace {

using clock_type = std::chrono::steady_clock;

constexpr int fast_renders_default = 5000;
constexpr int baseline_renders_default = 20;
constexpr int warmup_renders = 200;
constexpr int fast_renders_max = 1'000'000;
constexpr int baseline_renders_max = 1000;
constexpr double throughput_seconds = 2.0;
constexpr std::array<int, 3> thread_counts = {1, 2, 4};

layout_config bench_config() {
  layout_config c;
  c.city_name = "吹田市";
  c.mayor_name = "吹田　太郎";
  c.prefecture_tax_word = "府民税";
  c.seal_png_path = std::string{KOFU_SOURCE_DIR} + "/certificate/assets/demo_seal.png";
  return c;
}

/// A certificate whose name needs IPAmj明朝 (an IVS outside IPAex) and SMP kanji.
certificate_input rare_name_input() {
  certificate_input in = sample_input();
  in.resident.name = "𠮷田　葛\U000E0102子";
  in.tax.address_jan1 = "大阪府吹田市髙﨑町二丁目5番8号";
  in.certificate_number = "20260401-000001";
  return in;
}

struct stats {
  double median_ms = 0;     // wall clock
  double p99_ms = 0;
  double cpu_median_ms = 0; // this thread's CPU time: immune to preemption on a shared machine
  double cpu_p99_ms = 0;
  size_t bytes = 0;
};

double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

std::pair<double, double> median_p99(std::vector<double>& ms) {
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms[std::min(ms.size() - 1, ms.size() * 99 / 100)]};
}

template <class Render>
stats time_renders(int n, Render&& render) {
  std::vector<double> wall, cpu;
  wall.reserve(static_cast<size_t>(n));
  cpu.reserve(static_cast<size_t>(n));
  stats s;
  for (int i = 0; i < n; ++i) {
    double c0 = thread_cpu_ms();
    auto t0 = clock_type::now();
    s.bytes = render().size();
    wall.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
    cpu.push_back(thread_cpu_ms() - c0);
  }
  std::tie(s.median_ms, s.p99_ms) = median_p99(wall);
  std::tie(s.cpu_median_ms, s.cpu_p99_ms) = median_p99(cpu);
  return s;
}

void print(const char* what, const stats& s) {
  std::printf("%-34s wall median %8.4f ms p99 %8.4f ms | cpu median %8.4f ms p99 %8.4f ms"
              " | %zu bytes\n",
              what, s.median_ms, s.p99_ms, s.cpu_median_ms, s.cpu_p99_ms, s.bytes);
}

struct throughput_result {
  double per_second = 0;     // certificates per wall-clock second, all threads together
  double cpu_ms_per = 0;     // thread CPU time per certificate: rises if threads contend
};

throughput_result throughput(const std::shared_ptr<const font_set>& fonts, int threads) {
  std::atomic<bool> stop{false};
  std::atomic<long> done{0};
  std::atomic<long> cpu_us{0};
  std::vector<std::thread> workers;
  auto t0 = clock_type::now();
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&] {
      renderer r{fonts};
      certificate_input in = sample_input();
      long n = 0;
      double c0 = thread_cpu_ms();
      while (!stop.load(std::memory_order_relaxed)) {
        r.render(in);
        ++n;
      }
      cpu_us += static_cast<long>((thread_cpu_ms() - c0) * 1000);
      done += n;
    });
  std::this_thread::sleep_for(std::chrono::duration<double>(throughput_seconds));
  stop = true;
  for (auto& w : workers)
    w.join();
  double seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
  throughput_result out;
  out.per_second = static_cast<double>(done.load()) / seconds;
  out.cpu_ms_per = static_cast<double>(cpu_us.load()) / 1000 / static_cast<double>(done.load());
  return out;
}

void write(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

int arg(int argc, char** argv, int i, int fallback, int max) {
  if (argc <= i)
    return fallback;
  return std::clamp(std::atoi(argv[i]), 1, max);
}

} // namespace

int main(int argc, char** argv) {
  const int fast_n = arg(argc, argv, 1, fast_renders_default, fast_renders_max);
  const int baseline_n = arg(argc, argv, 2, baseline_renders_default, baseline_renders_max);
  const layout_config config = bench_config();

  auto t0 = clock_type::now();
  auto fonts = load_fonts(config);
  std::printf("load_fonts                         %8.1f ms\n",
              std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());

  renderer r{fonts};
  const certificate_input typical = sample_input();
  const certificate_input rare = rare_name_input();
  for (int i = 0; i < warmup_renders; ++i)
    r.render(typical);
  stats fast = time_renders(fast_n, [&] { return r.render(typical); });
  print("fast path, typical (IPAex only)", fast);
  stats fast_rare = time_renders(fast_n, [&] { return r.render(rare); });
  print("fast path, name needs IPAmj", fast_rare);

  podofo_baseline baseline{config};
  stats base = time_renders(baseline_n, [&] { return baseline.render(typical); });
  if (const char* dir = std::getenv("KOFU_BENCH_DUMP")) {
    write(std::string{dir} + "/fast.pdf", r.render(typical));
    write(std::string{dir} + "/fast_ipamj.pdf", r.render(rare));
    write(std::string{dir} + "/baseline.pdf", baseline.render(typical));
  }
  print("baseline PoDoFo CreateFontSubset", base);
  std::printf("speed-up (baseline median / fast median): wall %.0fx, cpu %.0fx\n",
              base.median_ms / fast.median_ms, base.cpu_median_ms / fast.cpu_median_ms);

  std::printf("machine: %u hardware threads (a shared machine: see docs/CERTIFICATE.md)\n",
              std::thread::hardware_concurrency());
  for (int threads : thread_counts) {
    auto t = throughput(fonts, threads);
    std::printf("throughput %d thread(s): %8.0f certificates/s, cpu %.4f ms per certificate\n",
                threads, t.per_second, t.cpu_ms_per);
  }
  return 0;
}
