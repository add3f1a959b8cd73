#pragma once

// Content codings for precompressed files (RFC 9110 §8.4, §12.5.3): which
// codings a client accepts, with what weight, and which of the siblings
// beside a file ("x.br", "x.gz") to send instead of it. No I/O: the
// handler asks the file cache which siblings exist.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace zc {

// The codings zcserve can serve precompressed, in no particular order: the
// server's preference is the order of `server.precompressed`.
enum class content_coding : std::uint8_t { br, zstd, gzip };
inline constexpr std::size_t content_coding_count = 3;

struct content_coding_info {
  content_coding coding;
  std::string_view name;    // as in Content-Encoding and server.precompressed
  std::string_view suffix;  // of the sibling file
};

inline constexpr std::array<content_coding_info, content_coding_count> content_codings = {{
    {content_coding::br, "br", ".br"},
    {content_coding::zstd, "zstd", ".zst"},
    {content_coding::gzip, "gzip", ".gz"},
}};

const content_coding_info& info(content_coding c) noexcept;
// "br", "zstd", "gzip" (exactly, as the config spells them), or nothing.
std::optional<content_coding> coding_named(std::string_view name) noexcept;

// What Accept-Encoding said, weights in thousandths (q=0.5 is 500).
// -1: not listed. Feed every Accept-Encoding field line of a request to
// parse_accept_encoding(); the lines form one list.
class accepted_codings {
 public:
  static constexpr int not_listed = -1;

  // The weight a coding gets: its own, else that of "*", else 0.
  int weight(content_coding c) const noexcept;
  // Identity is acceptable unless excluded (RFC 9110 §12.5.3): its own
  // weight, else that of "*", else `implicit_identity` (acceptable, but
  // ranked below every coding the client listed with a weight above 0).
  static constexpr int implicit_identity = 0;
  int identity_weight() const noexcept;

  // A coding listed twice keeps its lowest weight: a client that says
  // q=0 anywhere has said it does not want it.
  void note(int& slot, int q) noexcept { slot = slot == not_listed || q < slot ? q : slot; }

  std::array<int, content_coding_count> listed{not_listed, not_listed, not_listed};
  int identity = not_listed;
  int star = not_listed;
};

// One Accept-Encoding field value: `#( codings [ OWS ";" OWS "q=" qvalue ] )`.
// Tokens are case-insensitive; "x-gzip" is gzip (§8.4.1.3). An element that
// does not follow the grammar (a bad token, a qvalue such as "0.5000",
// "1.5" or "abc", any parameter but q) is ignored, as if not sent; the rest
// of the list still counts.
void parse_accept_encoding(std::string_view value, accepted_codings& into) noexcept;

// The coding to send, or nothing for the file itself. `offered` lists the
// codings whose sibling exists, in the server's order of preference. The
// highest weight wins; at equal weight, the earlier in `offered`, and any
// coding beats identity. A coding with weight 0 is never sent. When
// identity is excluded and no coding is acceptable, the file itself is
// sent anyway (RFC 9110 §12.1 lets a server disregard the field rather
// than answer 406), as nginx does: a 406 for a file that exists helps no
// one.
std::optional<content_coding> choose_coding(const accepted_codings& accepted,
                                            std::span<const content_coding> offered) noexcept;

}  // namespace zc
