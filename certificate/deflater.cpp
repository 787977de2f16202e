#include "certificate/deflater.hpp"

#include <stdexcept>

#include <libdeflate.h>

#include "certificate/pdf_writer.hpp"

namespace kofu::certificate {

deflater::deflater(int level)
  : compressor_(level == 0 ? nullptr : libdeflate_alloc_compressor(level)) {
  if (level != 0 && compressor_ == nullptr)
    throw std::runtime_error("libdeflate_alloc_compressor failed");
}

deflater::~deflater() {
  if (compressor_ != nullptr)
    libdeflate_free_compressor(compressor_);
}

void deflater::compress(std::string_view in, std::string& out) {
  if (compressor_ == nullptr) {
    out.assign(in);
    return;
  }
  size_t bound = libdeflate_zlib_compress_bound(compressor_, in.size());
  out.resize(bound);
  size_t n = libdeflate_zlib_compress(compressor_, in.data(), in.size(), out.data(), bound);
  if (n == 0)
    throw std::runtime_error("libdeflate_zlib_compress failed");
  out.resize(n);
}

void deflater::write_stream(pdf_writer& w, uint32_t number, std::string_view dict_entries,
                            std::string_view data, std::string& scratch) {
  // Below this, compression saves a few hundred bytes at most and costs libdeflate's set-up.
  constexpr size_t compress_min_bytes = 1024;
  if (compressor_ == nullptr || data.size() < compress_min_bytes) {
    w.stream_object(number, dict_entries, data);
    return;
  }
  compress(data, scratch);
  std::string dict{dict_entries};
  dict += "/Filter/FlateDecode";
  w.stream_object(number, dict, scratch);
}

} // namespace kofu::certificate
