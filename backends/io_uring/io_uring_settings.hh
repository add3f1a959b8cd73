#pragma once

// [io.uring]: the io_uring engine's own settings, and its keys. Compiled
// whether or not the engine is: a config file reads the same on every build
// (docs/architecture.md, "Adding an engine").

#include <chrono>
#include <cstddef>
#include <string_view>

#include "backends/engine_keys.hh"

namespace zc {

struct uring_settings {
  static constexpr std::string_view section = "io.uring";

  unsigned entries = 1024;         // submission queue slots; the completion queue has 4x
  unsigned buffers = 1024;         // provided receive buffers per worker (a power of two)
  std::size_t buffer_size = 4096;  // bytes per provided buffer
  bool sqpoll = false;             // a kernel thread polls the submission queue
  std::chrono::milliseconds sq_thread_idle{1000};  // idle time before it sleeps
  int sq_thread_cpu = -1;  // CPU for the polling thread; -1: the scheduler picks
  // with sqpoll: poll for completions this long before sleeping in the kernel
  std::chrono::milliseconds sqpoll_spin{1};
  std::size_t zc_min_bytes = 16384;  // send_zc: smaller bodies are copied (cheaper)
  // sockets accepted straight into the ring's file table, files registered there
  bool fixed_files = false;
};

// [io.uring] and its keys, in --help order.
extern const engine_section uring_section;

}  // namespace zc
