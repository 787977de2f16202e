#include "net/problem.hpp"

namespace kofu::net {

http_response problem(ec code,
                      std::initializer_list<std::pair<std::string_view, std::string_view>> members,
                      int retry_after_s) {
  std::string extra;
  for (auto& [name, value] : members) {
    if (value.empty())
      continue;
    if (!extra.empty())
      extra += ',';
    extra += json_quote(name);
    extra += ':';
    extra += json_quote(value);
  }
  auto r = problem_response(static_cast<unsigned>(http_status(code)), problem_code(code),
                            problem_title(code), extra);
  if (retry_after_s > 0)
    r.headers.push_back({"Retry-After", std::to_string(retry_after_s)});
  if (code == ec::unauthorized)
    r.headers.push_back({"WWW-Authenticate", "Bearer"});
  return r;
}

} // namespace kofu::net
