#pragma once

// The center listener's routes (center-api.md): decode with the codec, hand the request to the
// issuance manager, never block the I/O thread.

#include "actors/node_context.hpp"
#include "net/center_codec.hpp"
#include "net/http_server.hpp"

namespace kofu::net {

http_server::handler center_handler(node_context_ptr ctx,
                                    std::shared_ptr<const center_codec> codec);

} // namespace kofu::net
