#pragma once

// Where the parser hands what it read. The consumer (the ingestion actor) stages the records, e.g.
// encrypted in a scratch column family, and applies them only once the parser reports the whole
// feed ok.

#include "feed/feed_header.hpp"
#include "messages/records.hpp"

namespace kofu::feed {

/// Receives a feed while it is parsed. Records arrive before the end of the feed is known, so the
/// sink must not apply them: a feed is applied whole or not at all (feeds.md, Atomicity), and that
/// is the consumer's job. The parser stops calling the sink at the first error; a sink that was
/// called and then sees `parser::ok()` false after `finish()` discards everything it staged.
class record_sink {
public:
  virtual ~record_sink() = default;

  /// Called once, after the header line is validated without error and before any record. The
  /// staleness of `sequence` is for the consumer to check (it knows the last applied one); it
  /// rejects the feed on line 1 if stale.
  virtual void on_header(const feed_header& header) = 0;

  /// A record of a residents feed. For `record_op::remove` only `resident_code` is set.
  virtual void on_resident(record_op op, resident_record&& record) = 0;

  /// A record of a tax feed; `fiscal_year` is the header's. For `record_op::remove` only
  /// `resident_code` and `fiscal_year` are set.
  virtual void on_tax(record_op op, tax_record&& record) = 0;
};

/// A sink that drops everything: for validating a feed without keeping it (dry runs, the fuzzer).
class null_sink final : public record_sink {
public:
  void on_header(const feed_header&) override {
    // nop
  }
  void on_resident(record_op, resident_record&&) override {
    // nop
  }
  void on_tax(record_op, tax_record&&) override {
    // nop
  }
};

} // namespace kofu::feed
