#include "net/center_routes.hpp"

#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include "actors/catalogue.hpp"

namespace kofu::net {

namespace {

constexpr std::string_view issuances_path = "/center/v1/issuances";
constexpr std::string_view outcome_suffix = "/outcome";

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

void send_error(responder& reply, const center_codec& codec, ec code,
                std::string_view request_id = {}, std::string_view field = {}) {
  auto response = codec.encode_error(code, request_id, field);
  if (code == ec::method_not_allowed)
    response.headers.push_back({"Allow", "POST"});
  reply.send(std::move(response));
}

issuance_actor manager(const node_context& ctx) {
  return caf::actor_cast<issuance_actor>(ctx.system->registry().get(issuance_name::value));
}

} // namespace

http_server::handler center_handler(node_context_ptr ctx,
                                    std::shared_ptr<const center_codec> codec) {
  return [ctx, codec](http_request request, responder reply) {
    auto path = path_of(request.target);
    bool issuances = path == issuances_path;
    std::string_view outcome_id;
    if (!issuances && path.size() > issuances_path.size() + 1 + outcome_suffix.size()
        && path.substr(0, issuances_path.size() + 1) == std::string(issuances_path) + "/"
        && path.substr(path.size() - outcome_suffix.size()) == outcome_suffix)
      outcome_id = path.substr(issuances_path.size() + 1,
                               path.size() - issuances_path.size() - 1 - outcome_suffix.size());
    if (!issuances && outcome_id.empty())
      return send_error(reply, *codec, ec::not_found);
    if (request.method != "POST")
      return send_error(reply, *codec, ec::method_not_allowed);
    // No manager (it is being restarted): the request cannot be taken now, after the checks of
    // its own (413, 415, 400 come first).
    auto no_manager = [&](std::string_view request_id) {
      reply.send(codec->encode_error(ec::overloaded, request_id, {}, 1));
    };
    if (issuances) {
      // Every answer to an issuance request is counted by its code; those given here too.
      auto count = [&](ec code) {
        ctx->metrics.add("kofu_issuance_requests_total",
                         "code=\"" + std::string(problem_code(code)) + "\"");
      };
      auto decoded = codec->decode_issuance(request);
      wipe(request.body); // the resident code: decoded, it travels only in the request
      if (auto* err = std::get_if<codec_error>(&decoded)) {
        count(err->code);
        return send_error(reply, *codec, err->code, err->request_id, err->field);
      }
      // 503s at once, on this thread, without a hop to an actor (center-api.md: "answered at
      // once, not after a wait").
      // The render bound is looked at here too, so that a full render queue is 503 before any
      // 422 a session would find (center-api.md's order); the session's take stays the bound.
      auto no = ctx->service_refusal();
      session_slot_ptr slot;
      if (no.code == ec::none
          && (ctx->render_queue_depth.load() >= ctx->cfg.render.queue_max
              || !(slot = session_slot::take(ctx))))
        no = {ec::overloaded, 1};
      if (no.code != ec::none) {
        count(no.code);
        return void(reply.send(codec->encode_error(
          no.code, std::get<issuance_request>(decoded).request_id, {}, no.retry_after_s)));
      }
      auto target = manager(*ctx);
      if (!target) {
        count(ec::overloaded);
        return no_manager(std::get<issuance_request>(decoded).request_id);
      }
      caf::anon_send(target, issue_atom::value, std::get<issuance_request>(std::move(decoded)),
                     std::make_shared<responder>(std::move(reply)), std::move(slot));
      return;
    }
    auto decoded = codec->decode_outcome(request, outcome_id);
    if (auto* err = std::get_if<codec_error>(&decoded))
      return send_error(reply, *codec, err->code, err->request_id, err->field);
    auto target = manager(*ctx);
    if (!target)
      return no_manager(std::get<outcome_report>(decoded).request_id);
    caf::anon_send(target, outcome_atom::value, std::get<outcome_report>(std::move(decoded)),
                   std::make_shared<responder>(std::move(reply)));
  };
}

} // namespace kofu::net
