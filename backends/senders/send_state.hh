#pragma once

#include <cstddef>

namespace zc {

// What a sender keeps per connection across its steps beyond the reply's
// staging buffer: splice's pipe, borrowed from its pool while a reply is
// on its way. The connection holds it (driver_conn::sending) and hands it
// to every call; the HTTP core never sees it.
struct send_state {
  int pipe_rd = -1;
  int pipe_wr = -1;
  std::size_t in_pipe = 0;  // bytes spliced into the pipe, not yet out of it
};

}  // namespace zc
