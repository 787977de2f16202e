#pragma once

// The admin listener's routes (admin-api.md): token authentication and roles, then each endpoint.
// Work that touches storage or actors runs in a short-lived actor of its own, never on the I/O
// thread; feed uploads stream to the ingestion actor with backpressure.

#include "actors/node_context.hpp"
#include "net/http_server.hpp"

namespace kofu::net {

http_server::handler admin_handler(node_context_ptr ctx);
http_server::route_policy admin_policy(node_context_ptr ctx);

} // namespace kofu::net
