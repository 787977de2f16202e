// libFuzzer target for the feed parser: any bytes, any chunking, never a crash, never unbounded
// memory, and the result never depends on where the input was split. Build and run: run.sh.

#include "feed/limits.hpp"
#include "feed/parser.hpp"
#include "messages/records.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {

using namespace kofu;
using namespace kofu::feed;

/// Checks every record it is handed: a record the parser lets through must obey feeds.md.
struct checking_sink final : record_sink {
  uint64_t records = 0;
  void on_header(const feed_header& h) override {
    if (h.municipality != "272051" || h.sequence == 0)
      __builtin_trap();
  }
  void on_resident(record_op op, resident_record&& r) override {
    ++records;
    if (!is_resident_code(r.resident_code))
      __builtin_trap();
    if (op == record_op::upsert && (r.name.empty() || r.name_kana.empty() || r.address.empty()))
      __builtin_trap();
  }
  void on_tax(record_op op, tax_record&& t) override {
    ++records;
    if (!is_resident_code(t.resident_code))
      __builtin_trap();
    if (op == record_op::remove)
      return;
    int64_t sum = 0;
    for (auto a : tax_amounts)
      sum += t.amount(a);
    if (sum != t.amount(tax_amount::total_tax))
      __builtin_trap();
    for (auto v : t.amounts_yen)
      if (v < 0 || v > tax_amount_max_yen)
        __builtin_trap();
  }
};

constexpr size_t chunk_bytes_max = 97; // chunk sizes 1..97, drawn from the input itself

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const parser_options options{"272051", civil_date{2026, 6, 1}, feed_errors_max, 1'000};

  checking_sink whole_sink;
  parser whole(options, whole_sink);
  whole.feed(bytes);
  whole.finish();

  checking_sink split_sink;
  parser split(options, split_sink);
  for (size_t i = 0, k = 0; i < size; ++k) {
    const size_t n = 1 + data[k % size] % chunk_bytes_max;
    split.feed(bytes.substr(i, n));
    i += n;
  }
  split.finish();

  if (whole.ok() != split.ok() || whole.errors() != split.errors()
      || whole.errors_total() != split.errors_total() || whole.records_seen() != split.records_seen()
      || whole_sink.records != split_sink.records)
    __builtin_trap();
  if (whole.errors().size() > feed_errors_max || (whole.ok() != whole.errors().empty()))
    __builtin_trap();
  for (const auto& e : whole.errors())
    if (e.line == 0 || e.message.empty())
      __builtin_trap();
  return 0;
}
