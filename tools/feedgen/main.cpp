// kofu-feedgen: writes synthetic residents and tax feeds (docs/DEV-SETUP.md). The command line and
// the files; the population is tools/feedgen/generator.hpp, the feeds tools/feedgen/feed_files.hpp.

#include "tools/feedgen/feed_files.hpp"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace fs = std::filesystem;
using kofu::feedgen::feed_files_options;

/// The output stream buffer of each file.
constexpr size_t file_buffer_bytes = 1 << 20;

constexpr std::string_view usage_text =
  "usage: kofu-feedgen [options]\n"
  "  --kind residents|tax|both   which feeds (default both: the same persons in each)\n"
  "  --count N                   record lines of each feed (default 1000)\n"
  "  --seed S                    the population's seed (default 1)\n"
  "  --fiscal-year Y             the tax feed's fiscal year (default 2025)\n"
  "  --sequence N                the header's sequence (default 1)\n"
  "  --mode full|delta           a whole population or changes to one (default full)\n"
  "  --population P              delta: the population changed (default: --count)\n"
  "  --encoding UTF-8|CP932      (default UTF-8; CP932 writes 𠮷 as 吉 and drops variation selectors)\n"
  "  --municipality CODE         the header's municipality (default 272051)\n"
  "  --city PREFIX               what addresses start with (default 大阪府吹田市)\n"
  "  --created-at TIME           the header's created_at (default <fiscal year>-06-01T02:00:00+09:00)\n"
  "  --crlf                      end lines with CRLF\n"
  "  --out DIR|FILE|-            a folder (the files get their usual names), a file (one kind\n"
  "                              only) or - for standard output (one kind only); default .\n";

struct command_line {
  feed_files_options feeds;
  bool residents = true;
  bool tax = true;
  std::string out = ".";
  bool population_given = false;
};

[[noreturn]] void usage_error(const std::string& message) {
  std::cerr << "kofu-feedgen: " << message << "\n" << usage_text;
  std::exit(2);
}

uint64_t parse_number(std::string_view option, std::string_view text) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size())
    usage_error(std::string(option) + " needs a whole number, not '" + std::string(text) + "'");
  return value;
}

command_line parse(int argc, char** argv) {
  command_line cl;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::cout << usage_text;
      std::exit(0);
    }
    if (arg == "--crlf") {
      cl.feeds.crlf = true;
      continue;
    }
    if (i + 1 >= argc)
      usage_error(std::string(arg) + (arg.starts_with("--") ? " needs a value" : ": unknown argument"));
    std::string_view value = argv[++i];
    if (arg == "--kind") {
      cl.residents = value == "residents" || value == "both";
      cl.tax = value == "tax" || value == "both";
      if (!cl.residents && !cl.tax)
        usage_error("--kind is residents, tax or both");
    } else if (arg == "--count") {
      cl.feeds.count = parse_number(arg, value);
    } else if (arg == "--seed") {
      cl.feeds.population.seed = parse_number(arg, value);
    } else if (arg == "--fiscal-year") {
      cl.feeds.population.fiscal_year = static_cast<int32_t>(std::min<uint64_t>(parse_number(arg, value), 9999));
    } else if (arg == "--sequence") {
      cl.feeds.sequence = parse_number(arg, value);
    } else if (arg == "--mode") {
      auto mode = kofu::feed::parse_feed_mode(value);
      if (!mode)
        usage_error("--mode is full or delta");
      cl.feeds.mode = *mode;
    } else if (arg == "--population") {
      cl.feeds.population_size = parse_number(arg, value);
      cl.population_given = true;
    } else if (arg == "--encoding") {
      auto encoding = kofu::feed::parse_feed_encoding(value);
      if (!encoding)
        usage_error("--encoding is UTF-8 or CP932");
      cl.feeds.encoding = *encoding;
    } else if (arg == "--municipality") {
      cl.feeds.municipality = value;
    } else if (arg == "--city") {
      cl.feeds.population.address_prefix = value;
    } else if (arg == "--created-at") {
      cl.feeds.created_at = value;
    } else if (arg == "--out") {
      cl.out = value;
    } else {
      usage_error("unknown option " + std::string(arg));
    }
  }
  if (!cl.population_given)
    cl.feeds.population_size = cl.feeds.count;
  if (auto problem = kofu::feedgen::check(cl.feeds); !problem.empty())
    usage_error(problem);
  return cl;
}

/// The usual file name of a feed.
std::string file_name(const feed_files_options& o, kofu::feed::feed_kind kind) {
  std::string name = kind == kofu::feed::feed_kind::residents
                       ? std::string("residents")
                       : "tax-" + std::to_string(o.population.fiscal_year);
  if (o.mode == kofu::feed::feed_mode::delta)
    name += "-delta-" + std::to_string(o.sequence);
  return name + ".csv";
}

/// A feed file being written: under a hidden temporary name first, renamed when complete, so that
/// a node watching the folder never takes a half-written feed.
struct output_file {
  fs::path path;
  fs::path partial;
  std::vector<char> buffer;
  std::ofstream stream;

  explicit output_file(fs::path p) : path(std::move(p)), buffer(file_buffer_bytes) {
    partial = path.parent_path() / ("." + path.filename().string() + ".partial");
    stream.rdbuf()->pubsetbuf(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    stream.open(partial, std::ios::binary | std::ios::trunc);
    if (!stream)
      throw std::runtime_error("cannot write " + partial.string());
  }

  /// Closes and renames; returns the file's size.
  uint64_t commit() {
    stream.close();
    if (!stream)
      throw std::runtime_error("writing " + partial.string() + " failed");
    fs::rename(partial, path);
    return fs::file_size(path);
  }

  ~output_file() {
    std::error_code ignored;
    if (fs::exists(partial, ignored))
      fs::remove(partial, ignored);
  }
};

int run(const command_line& cl) {
  using kofu::feed::feed_kind;
  const bool one_kind = cl.residents != cl.tax;
  const feed_kind kind = cl.residents ? feed_kind::residents : feed_kind::tax;
  auto started = std::chrono::steady_clock::now();
  if (cl.out == "-") {
    if (!one_kind)
      usage_error("--out - needs one --kind");
    std::ios::sync_with_stdio(false);
    kofu::feedgen::write_feeds(cl.feeds, cl.residents ? &std::cout : nullptr,
                               cl.tax ? &std::cout : nullptr);
    std::cout.flush();
    return std::cout ? 0 : 1;
  }
  fs::path out = cl.out;
  bool is_dir = !one_kind || fs::is_directory(out) || cl.out.ends_with('/');
  std::optional<output_file> residents_file, tax_file;
  if (is_dir) {
    fs::create_directories(out);
    if (cl.residents)
      residents_file.emplace(out / file_name(cl.feeds, feed_kind::residents));
    if (cl.tax)
      tax_file.emplace(out / file_name(cl.feeds, feed_kind::tax));
  } else if (kind == feed_kind::residents) {
    residents_file.emplace(out);
  } else {
    tax_file.emplace(out);
  }
  uint64_t records = kofu::feedgen::write_feeds(cl.feeds, residents_file ? &residents_file->stream : nullptr,
                                                tax_file ? &tax_file->stream : nullptr);
  uint64_t bytes = 0;
  std::vector<std::pair<std::string, uint64_t>> written;
  for (auto* f : {&residents_file, &tax_file}) {
    if (!*f)
      continue;
    uint64_t size = (*f)->commit();
    bytes += size;
    written.emplace_back((*f)->path.string(), size);
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  for (auto& [path, size] : written)
    std::fprintf(stderr, "wrote %s: %llu records, %llu bytes\n", path.c_str(),
                 static_cast<unsigned long long>(records), static_cast<unsigned long long>(size));
  std::fprintf(stderr, "%.2f s, %.1f MB/s\n", seconds,
               seconds > 0 ? static_cast<double>(bytes) / 1e6 / seconds : 0.0);
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  auto cl = parse(argc, argv);
  try {
    return run(cl);
  } catch (const std::exception& e) {
    std::cerr << "kofu-feedgen: " << e.what() << "\n";
    return 1;
  }
}
