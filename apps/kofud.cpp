// kofud: the kofu node. A thin main: options, config, then net/node.hpp does the rest.

#include <malloc.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "config/config.hpp"
#include "net/node.hpp"

namespace {

constexpr const char* usage = R"(kofud - kofu certificate issuance server (コンビニ交付)

usage: kofud --config FILE [--check-config]
       kofud --help

  --config FILE     the node's config file (docs/CONFIG.md)
  --check-config    read and validate the config, print "config ok", and exit
  --help            this text

Signals: SIGTERM or SIGINT stop the node cleanly. Exit status: 0 after a clean stop, 1 when the
config or a file it names is wrong (the message says which), 2 on a usage error, 3 when the
supervisor gave up on an actor.
)";

/// Large buffers (fonts, feed chunks) come from the heap rather than fresh mmaps each time.
constexpr int mmap_threshold_bytes = 64 * 1024 * 1024;

} // namespace

int main(int argc, char** argv) {
  std::string config_path;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::fputs(usage, stdout);
      return 0;
    }
    if (std::strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
      config_path = argv[++i];
    } else if (std::strcmp(argv[i], "--check-config") == 0) {
      check_only = true;
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
  kofu::block_shutdown_signals();
  try {
    auto cfg = kofu::config::load_config(config_path);
    if (check_only) {
      std::puts("config ok");
      return 0;
    }
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
