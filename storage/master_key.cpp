#include "storage/master_key.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdexcept>

namespace kofu::storage {

namespace {

/// 64 hex digits and a line break, with room for a CR.
constexpr size_t key_file_bytes_max = 80;

[[noreturn]] void fail(const std::string& path, const std::string& why) {
  throw std::runtime_error("master key file " + path + ": " + why);
}

} // namespace

key256 load_master_key(const std::string& path, bool check_owner_and_mode) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    fail(path, "cannot be opened");
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(path, "is not a regular file");
  }
  if (check_owner_and_mode) {
    if ((st.st_mode & 0777) != 0600) {
      ::close(fd);
      fail(path, "must have mode 0600 (it is not readable by anyone but the service user)");
    }
    if (st.st_uid != ::geteuid()) {
      ::close(fd);
      fail(path, "must be owned by the service user");
    }
  }
  char buf[key_file_bytes_max + 1];
  auto n = ::read(fd, buf, sizeof(buf));
  ::close(fd);
  if (n < 0)
    fail(path, "cannot be read");
  std::string text(buf, static_cast<size_t>(n));
  wipe(buf, sizeof(buf));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
    text.pop_back();
  auto bytes = from_hex(text);
  wipe(text);
  if (!bytes || bytes->size() != key_bytes) {
    if (bytes)
      wipe(*bytes);
    fail(path, "must hold exactly 64 hex digits (a 256-bit key)");
  }
  key256 key(bytes->data());
  wipe(*bytes);
  return key;
}

} // namespace kofu::storage
