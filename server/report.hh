#pragma once

#include <string>

namespace zc {

// The per-call table printed at exit (and on SIGUSR1): every counted system
// call by name, summed over all threads, with calls per request.
std::string syscall_table();

}  // namespace zc
