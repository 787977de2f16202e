#include "config/ini.hpp"

#include <fstream>
#include <sstream>

namespace kofu::config {

namespace {

/// A config file is small; anything larger is not one.
constexpr size_t config_file_bytes_max = 1 << 20;

std::string trim(const std::string& s) {
  auto first = s.find_first_not_of(" \t\r");
  if (first == std::string::npos)
    return {};
  auto last = s.find_last_not_of(" \t\r");
  return s.substr(first, last - first + 1);
}

} // namespace

ini_file ini_file::parse(const std::string& text, std::string origin) {
  ini_file result;
  result.origin_ = std::move(origin);
  std::istringstream in(text);
  std::string raw;
  std::string section;
  uint32_t line = 0;
  auto fail = [&](const std::string& why) {
    throw config_error(result.origin_ + ":" + std::to_string(line) + ": " + why);
  };
  while (std::getline(in, raw)) {
    ++line;
    auto s = trim(raw);
    if (s.empty() || s[0] == '#' || s[0] == ';')
      continue;
    if (s[0] == '[') {
      if (s.back() != ']')
        fail("section header without a closing ']'");
      section = trim(s.substr(1, s.size() - 2));
      if (section.empty())
        fail("empty section name");
      if (result.sections_.count(section) != 0)
        fail("section [" + section + "] appears twice");
      result.sections_[section];
      continue;
    }
    auto eq = s.find('=');
    if (eq == std::string::npos)
      fail("expected 'key = value'");
    if (section.empty())
      fail("key outside of any [section]");
    auto key = trim(s.substr(0, eq));
    auto value = trim(s.substr(eq + 1));
    if (key.empty())
      fail("empty key");
    auto& keys = result.sections_[section];
    if (keys.count(key) != 0)
      fail(section + "." + key + " is set twice");
    keys[key] = ini_value{value, line, false};
  }
  return result;
}

ini_file ini_file::load(const std::string& path) {
  return parse(read_text(path), path);
}

std::string ini_file::read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw config_error(path + ": cannot open the config file");
  std::string text;
  text.resize(config_file_bytes_max + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > config_file_bytes_max)
    throw config_error(path + ": the config file is larger than 1 MiB");
  return text;
}

const ini_value* ini_file::find(const std::string& section, const std::string& key) {
  auto s = sections_.find(section);
  if (s == sections_.end())
    return nullptr;
  auto k = s->second.find(key);
  if (k == s->second.end())
    return nullptr;
  k->second.used = true;
  return &k->second;
}

std::vector<std::string> ini_file::sections_with_prefix(const std::string& prefix) const {
  std::vector<std::string> result;
  for (auto& [name, keys] : sections_)
    if (name.size() > prefix.size() + 1 && name.compare(0, prefix.size(), prefix) == 0
        && name[prefix.size()] == '.')
      result.push_back(name);
  return result;
}

void ini_file::reject_unused() const {
  for (auto& [section, keys] : sections_)
    for (auto& [key, value] : keys)
      if (!value.used)
        throw config_error(origin_ + ":" + std::to_string(value.line) + ": unknown key " + section
                           + "." + key);
}

} // namespace kofu::config
