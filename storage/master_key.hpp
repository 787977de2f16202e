#pragma once

// The master key: read once at start from a key file that only the service user may read. It wraps
// every data key and derives the hashing and audit keys; it is never written anywhere by kofu.

#include <string>

#include "storage/crypto.hpp"

namespace kofu::storage {

/// Reads a key file of 64 hex digits (an optional trailing newline). With `check_owner_and_mode`,
/// refuses a file that is not a regular file of mode 0600 owned by the effective user. Throws
/// std::runtime_error naming the file and what is wrong.
key256 load_master_key(const std::string& path, bool check_owner_and_mode);

} // namespace kofu::storage
