// kofu-center: a center client for development and the demo. Sends one issuance request over
// mutual TLS, as the national issuance center would, and writes the certificate to a file.

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "net/http_client.hpp"

namespace {

constexpr const char* usage = R"(usage: kofu-center --port N --ca FILE --cert FILE --key FILE --resident CODE
                   [--host H] [--request-id ID] [--fiscal-year Y] [--municipality CODE]
                   [--out FILE] [--outcome printed|print_failed|cancelled]
Sends POST /center/v1/issuances and writes the PDF to --out (default certificate.pdf); with
--outcome, reports that outcome for --request-id instead. Prints the status, the certificate
number and the file; exits 0 on 200/204, 1 otherwise.
)";

struct options {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string ca, cert, key, resident, request_id = "DEMO-000001", municipality = "272051";
  std::string out = "certificate.pdf", outcome;
  int fiscal_year = 0;
};

bool parse(int argc, char** argv, options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc)
      return false;
    std::string v = argv[++i];
    if (a == "--host") o.host = v;
    else if (a == "--port") o.port = static_cast<uint16_t>(std::stoi(v));
    else if (a == "--ca") o.ca = v;
    else if (a == "--cert") o.cert = v;
    else if (a == "--key") o.key = v;
    else if (a == "--resident") o.resident = v;
    else if (a == "--request-id") o.request_id = v;
    else if (a == "--fiscal-year") o.fiscal_year = std::stoi(v);
    else if (a == "--municipality") o.municipality = v;
    else if (a == "--out") o.out = v;
    else if (a == "--outcome") o.outcome = v;
    else return false;
  }
  return o.port != 0 && !o.ca.empty() && !o.cert.empty() && !o.key.empty()
         && (!o.resident.empty() || !o.outcome.empty());
}

} // namespace

int main(int argc, char** argv) {
  options o;
  try {
    if (!parse(argc, argv, o)) {
      std::fputs(usage, stderr);
      return 2;
    }
    kofu::net::http_client_options co;
    co.host = o.host;
    co.port = o.port;
    co.ca_file = o.ca;
    co.cert_file = o.cert;
    co.key_file = o.key;
    kofu::net::http_client client(co);
    kofu::net::header_list headers{{"Content-Type", "application/json"}};
    if (!o.outcome.empty()) {
      nlohmann::json body = {{"outcome", o.outcome}, {"reported_at", "2026-11-28T10:15:40+09:00"}};
      auto r = client.request("POST", "/center/v1/issuances/" + o.request_id + "/outcome",
                              headers, body.dump());
      std::printf("status %u\n", r.status);
      return r.status == 204 ? 0 : 1;
    }
    nlohmann::json body = {{"request_id", o.request_id},
                           {"municipality_code", o.municipality},
                           {"certificate_type", "income_tax"},
                           {"resident_code", o.resident},
                           {"kiosk", {{"store_code", "S0001234"}, {"terminal_id", "T01"}}},
                           {"requested_at", "2026-11-28T10:15:00+09:00"}};
    if (o.fiscal_year != 0)
      body["fiscal_year"] = o.fiscal_year;
    auto r = client.request("POST", "/center/v1/issuances", headers, body.dump());
    std::printf("status %u\n", r.status);
    if (r.status != 200) {
      std::printf("%s\n", r.body.c_str());
      return 1;
    }
    std::ofstream out(o.out, std::ios::binary | std::ios::trunc);
    out.write(r.body.data(), static_cast<std::streamsize>(r.body.size()));
    out.close();
    auto number = r.header("Kofu-Certificate-Number");
    std::printf("certificate %s written to %s (%zu bytes)\n",
                number ? std::string(*number).c_str() : "?", o.out.c_str(), r.body.size());
    return out ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kofu-center: %s\n", e.what());
    return 1;
  }
}
