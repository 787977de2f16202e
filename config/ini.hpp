#pragma once

// A minimal INI reader for kofu's config file: `[section]` headers, `key = value` lines, `#` or `;`
// comments. Every value remembers its line so that validation errors can name it. Sections may
// carry a dotted suffix (`[token.alice]`) for repeated groups.

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace kofu::config {

/// A malformed config file or value; `what()` names the file, line and key.
class config_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

struct ini_value {
  std::string text;
  uint32_t line = 0;
  bool used = false;
};

/// One parsed INI file: section -> key -> value, in file order of sections.
class ini_file {
public:
  /// Parses `text`; `origin` names the file in errors.
  static ini_file parse(const std::string& text, std::string origin);
  static ini_file load(const std::string& path);

  /// The text of a config file, refusing one larger than a config file can be.
  static std::string read_text(const std::string& path);

  /// The value of `section.key`, marked as used.
  const ini_value* find(const std::string& section, const std::string& key);

  /// Names of sections that start with `prefix` + '.' (`token.` -> `token.alice`).
  std::vector<std::string> sections_with_prefix(const std::string& prefix) const;

  /// Throws for the first key that no reader asked for: a typo must not be silently ignored.
  void reject_unused() const;

  const std::string& origin() const { return origin_; }

private:
  std::string origin_;
  std::map<std::string, std::map<std::string, ini_value>> sections_;
};

} // namespace kofu::config
