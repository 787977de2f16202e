#include "actors/metrics.hpp"

#include <cstdio>
#include <tuple>

namespace kofu {

namespace {

std::string number(double x) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.9g", x);
  return buf;
}

std::string with_labels(const std::string& name, const std::string& labels) {
  return labels.empty() ? name : name + "{" + labels + "}";
}

} // namespace

histogram::histogram(std::vector<double> bounds_s)
  : bounds_(std::move(bounds_s)),
    counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size())) {
  // nop
}

void histogram::observe(double seconds) {
  for (size_t i = 0; i < bounds_.size(); ++i)
    if (seconds <= bounds_[i])
      counts_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<uint64_t>(seconds * 1e9), std::memory_order_relaxed);
}

void histogram::render(const std::string& name, std::string& out) const {
  out += "# TYPE " + name + " histogram\n";
  for (size_t i = 0; i < bounds_.size(); ++i)
    out += name + "_bucket{le=\"" + number(bounds_[i]) + "\"} "
           + std::to_string(counts_[i].load(std::memory_order_relaxed)) + "\n";
  auto n = count_.load(std::memory_order_relaxed);
  out += name + "_bucket{le=\"+Inf\"} " + std::to_string(n) + "\n";
  out += name + "_sum " + number(static_cast<double>(sum_ns_.load()) / 1e9) + "\n";
  out += name + "_count " + std::to_string(n) + "\n";
}

metrics_registry::metrics_registry()
  : issuance_duration({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}),
    render_duration({0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1}),
    audit_commit_duration({0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}),
    audit_sync_duration({0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}) {
  // nop
}

void metrics_registry::add(const std::string& name, const std::string& labels, uint64_t delta) {
  sample* s = nullptr;
  {
    std::lock_guard guard(mutex_);
    auto& slot = counters_[name][labels];
    if (!slot)
      slot = std::make_unique<sample>();
    s = slot.get();
  }
  s->value.fetch_add(delta, std::memory_order_relaxed);
}

void metrics_registry::set(const std::string& name, const std::string& labels, double value) {
  std::lock_guard guard(mutex_);
  values_[name][labels] = value;
}

void metrics_registry::gauge(const std::string& name, std::string help, gauge_fn fn) {
  std::lock_guard guard(mutex_);
  gauges_.emplace_back(name, std::move(help), std::move(fn));
}

std::string metrics_registry::render() const {
  std::string out;
  std::lock_guard guard(mutex_);
  for (auto& [name, samples] : counters_) {
    out += "# TYPE " + name + " counter\n";
    for (auto& [labels, s] : samples)
      out += with_labels(name, labels) + " " + std::to_string(s->value.load()) + "\n";
  }
  for (auto& [name, samples] : values_) {
    out += "# TYPE " + name + " gauge\n";
    for (auto& [labels, v] : samples)
      out += with_labels(name, labels) + " " + number(v) + "\n";
  }
  for (auto& [name, help, fn] : gauges_) {
    out += "# HELP " + name + " " + help + "\n# TYPE " + name + " gauge\n";
    fn([&, n = name](const std::string& labels, double v) {
      out += with_labels(n, labels) + " " + number(v) + "\n";
    });
  }
  issuance_duration.render("kofu_issuance_duration_seconds", out);
  render_duration.render("kofu_render_duration_seconds", out);
  audit_commit_duration.render("kofu_audit_commit_duration_seconds", out);
  audit_sync_duration.render("kofu_audit_sync_duration_seconds", out);
  return out;
}

} // namespace kofu
