#pragma once

// The feed module in one include: the parser, its sink, the writer (../shared/spec/feeds.md).

#include "feed/feed_header.hpp"
#include "feed/feed_writer.hpp"
#include "feed/limits.hpp"
#include "feed/parser.hpp"
#include "feed/record_sink.hpp"
