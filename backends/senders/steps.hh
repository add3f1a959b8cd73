#pragma once

// What a reply's body needs, in a small vocabulary: the words a sender
// (backends/senders/<name>.cc) says its next steps in, and the words every
// engine family's executor knows how to carry out. A sender computes its
// steps from the reply's progress alone (head_sent, body_sent, what is
// staged or in a pipe), so a step cut short is followed by the steps that
// progress then calls for, and a short write resumes at exactly the next
// byte wherever it happened. The executors:
//
//   readiness (blocking, epoll, asio)  each step one counted system call,
//                                      as the socket allows (EAGAIN: again)
//                                      -- sender::send, readiness.cc
//   completion (io_uring)              one step list, one chain of linked
//                                      operations -- io_uring/uring_steps.cc
//   userspace (dpdk)                   writes into the stack: copies for
//                                      staged bytes, references for mapped
//                                      ones -- dpdk/dpdk_engine.cc

#include <array>
#include <cstdint>
#include <string_view>

namespace zc {

enum class step : std::uint8_t {
  stage,        // read the range's next chunk into the staging buffer
  head,         // the rest of the head, alone
  head_more,    // the rest of the head, alone, held back (MSG_MORE): body bytes follow
  memory,       // the rest of an in-memory body, alone
  head_memory,  // head and in-memory body, gathered
  staged,       // the staged bytes, alone
  head_staged,  // head and staged bytes, gathered
  head_mapped,  // head and the range's next chunk of the file's mapping, gathered
  mapped_zc,    // the range's next chunk of the mapping, zero-copy (pages pinned)
  sendfile,     // the rest of the range, file to socket inside the kernel
  fill_pipe,    // the range's next chunk, file -> pipe (splice)
  drain_pipe,   // what the pipe holds, pipe -> socket (splice)
};

std::string_view step_name(step s) noexcept;

// A sender's next steps for the current part of a reply: empty when the
// part is out, or a failure to report (no step was taken).
struct plan {
  // The most steps one plan holds: read -> head -> body, or head -> the
  // two splices. io_uring links them in one chain (max_step_ops).
  static constexpr std::uint8_t max_steps = 3;

  std::array<step, max_steps> steps{};
  std::uint8_t count = 0;
  // The most one step moves: the staging buffer's, a mapped chunk's or a
  // sendfile call's size, or what one pipe holds.
  std::uint64_t chunk = 0;
  int err = 0;          // a failure: errno (0 for "file ended")
  std::string_view op;  // a failure: the call that failed; empty otherwise

  // No step yet, each moving at most `chunk` bytes.
  static plan of(std::uint64_t chunk) noexcept {
    plan p;
    p.chunk = chunk;
    return p;
  }
  static plan failure(int err, std::string_view op) noexcept {
    plan p;
    p.err = err;
    p.op = op;
    return p;
  }
  bool failed() const noexcept { return !op.empty(); }
  plan& then(step s) noexcept {
    steps[count++] = s;
    return *this;
  }
  const step* begin() const noexcept { return steps.data(); }
  const step* end() const noexcept { return steps.data() + count; }
};

}  // namespace zc
