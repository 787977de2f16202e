#pragma once

// FlateDecode for the PDF streams, through libdeflate: several times faster than zlib at the same
// ratio, and its output depends only on the input and the level (determinism).

#include <cstdint>
#include <string>
#include <string_view>

struct libdeflate_compressor;

namespace kofu::certificate {

class pdf_writer;

/// One instance per thread: a libdeflate compressor is not shareable.
class deflater {
public:
  /// `level` 1–12 is libdeflate's; 0 stores every stream as it is (no FlateDecode).
  explicit deflater(int level);
  ~deflater();
  deflater(const deflater&) = delete;
  deflater& operator=(const deflater&) = delete;

  /// Replaces `out` with the zlib stream (RFC 1950) of `in`.
  void compress(std::string_view in, std::string& out);

  /// Writes `data` as a stream object, FlateDecode unless it is too small to gain anything.
  void write_stream(pdf_writer& w, uint32_t number, std::string_view dict_entries,
                    std::string_view data, std::string& scratch);

private:
  libdeflate_compressor* compressor_ = nullptr;
};

} // namespace kofu::certificate
