// kofud: the kofu node. A thin main: options, config, then net/node.hpp does the rest.

#include <malloc.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "config/config.hpp"
#include "net/node.hpp"
#include "storage/database.hpp"
#include "storage/master_key.hpp"

namespace {

constexpr const char* usage = R"(kofud - kofu certificate issuance server (コンビニ交付)

usage: kofud --config FILE [--check-config | --rotate-master-key NEW_KEY_FILE]
       kofud --help

  --config FILE                    the node's config file (docs/CONFIG.md)
  --check-config                   read and validate the config, print "config ok", and exit
  --rotate-master-key NEW_KEY_FILE re-wrap every key of the (stopped) node's database under the
                                   key in NEW_KEY_FILE, then exit; afterwards put NEW_KEY_FILE in
                                   place of node.master_key_file (docs/OPERATIONS.md)
  --help                           this text

Signals: SIGTERM or SIGINT stop the node cleanly. Exit status: 0 after a clean stop, 1 when the
config or a file it names is wrong (the message says which), 2 on a usage error, 3 when the
supervisor gave up on an actor.
)";

/// Large buffers (fonts, feed chunks) come from the heap rather than fresh mmaps each time.
constexpr int mmap_threshold_bytes = 64 * 1024 * 1024;
/// Free memory at the top of a heap is kept up to this much instead of being handed back to the
/// kernel: each issuance allocates and frees ~60 KB buffers (the PDF, its response, TLS records)
/// on several threads, and with glibc's 128 KiB default every thread's heap was shrunk and faulted
/// in again all the time (page faults were ~4% of the node's CPU under load, docs/BENCH.md).
constexpr int trim_threshold_bytes = 128 * 1024 * 1024;

/// Re-wraps the database's keys under a new master key; the node must be stopped (the database
/// lock says so otherwise).
int rotate_master_key(const kofu::config::node_config& cfg, const std::string& new_key_file) {
  auto old_key = kofu::storage::load_master_key(cfg.node.master_key_file, cfg.node.key_file_checks);
  auto new_key = kofu::storage::load_master_key(new_key_file, cfg.node.key_file_checks);
  auto db = kofu::storage::database::open(cfg.node.data_dir, old_key);
  auto n = db->rewrap_keys(new_key);
  std::printf("re-wrapped %zu keys under the key in %s; now move it over %s before starting\n", n,
              new_key_file.c_str(), cfg.node.master_key_file.c_str());
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  std::string config_path;
  bool check_only = false;
  std::string new_key_file;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::fputs(usage, stdout);
      return 0;
    }
    if (std::strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
      config_path = argv[++i];
    } else if (std::strcmp(argv[i], "--check-config") == 0) {
      check_only = true;
    } else if (std::strcmp(argv[i], "--rotate-master-key") == 0 && i + 1 < argc) {
      new_key_file = argv[++i];
    } else {
      std::fprintf(stderr, "kofud: unknown option %s\n%s", argv[i], usage);
      return 2;
    }
  }
  if (config_path.empty()) {
    std::fprintf(stderr, "kofud: --config FILE is required\n%s", usage);
    return 2;
  }
  mallopt(M_MMAP_THRESHOLD, mmap_threshold_bytes);
  mallopt(M_TRIM_THRESHOLD, trim_threshold_bytes);
  kofu::block_shutdown_signals();
  try {
    auto cfg = kofu::config::load_config(config_path);
    if (check_only) {
      std::puts("config ok");
      return 0;
    }
    if (!new_key_file.empty())
      return rotate_master_key(cfg, new_key_file);
    kofu::node n(std::move(cfg));
    n.start();
    bool clean = n.wait_for_shutdown();
    n.stop();
    return clean ? 0 : 3;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kofud: %s\n", e.what());
    return 1;
  }
}
