#pragma once

// One feed being loaded: the parser's sink that stages records (sealed) into storage and, only when
// the whole feed checked out, commits them at one instant; otherwise drops them all. Used by the
// ingestion actor for uploads and inbox files alike (one path through the server).

#include <memory>
#include <string>
#include <vector>

#include "actors/node_context.hpp"
#include "feed/parser.hpp"
#include "storage/database.hpp"

namespace kofu {

class feed_load final : public feed::record_sink {
public:
  feed_load(node_context& ctx, uint64_t feed_id);
  ~feed_load() override;

  /// The next bytes of the feed, as delivered.
  void feed(std::string_view chunk);

  /// End of input: checks the end, then commits or rejects. Returns true when applied.
  bool finish();

  /// The input broke off (client gone, file unreadable): rejected, nothing applied.
  void abort(const std::string& why);

  void on_header(const feed::feed_header& header) override;
  void on_resident(feed::record_op op, resident_record&& record) override;
  void on_tax(feed::record_op op, tax_record&& record) override;

private:
  void reject(std::vector<feed_status_error> extra);
  void progress();

  node_context& ctx_;
  uint64_t id_;
  feed::parser parser_;
  std::unique_ptr<storage::feed_stage> stage_;
  /// Residents that left, past retention, handed to the stage (feed_stage::departed, keyed
  /// hashes only): their tax records and manual holds go when the feed is applied.
  uint64_t departed_ = 0;
  bool too_many_departed_ = false; // past the bound: the feed is rejected (error given once)
  civil_date today_;
  uint64_t last_progress_ = 0;
  bool done_ = false;
};

} // namespace kofu
