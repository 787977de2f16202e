#pragma once

// UTF-8 decoding into the units the certificate draws: a character and, for an ideographic
// variation sequence, its selector (feeds.md allows U+E0100–U+E01EF after a kanji).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kofu::certificate {

/// What invalid UTF-8 decodes to; no font of the certificate maps it, so it is refused.
inline constexpr char32_t replacement_character = 0xFFFD;

/// One drawn unit: a character, optionally followed by a variation selector (0 when none).
struct cluster {
  char32_t base = 0;
  char32_t selector = 0;

  friend bool operator==(const cluster&, const cluster&) = default;
};

bool is_variation_selector(char32_t cp);

/// Decodes UTF-8; an invalid or overlong sequence becomes U+FFFD.
std::vector<char32_t> decode_utf8(std::string_view text);

/// Decodes into `out` (cleared): each character with the selector that follows it. A selector
/// with no character before it stays alone as a base, which no font maps (an error later).
void decode_clusters(std::string_view text, std::vector<cluster>& out);

void append_utf16be(std::string& out, char32_t cp);

/// "U+845B" or "U+845B U+E0102": how an error names a cluster, never more than that.
std::string describe(cluster c);

} // namespace kofu::certificate
