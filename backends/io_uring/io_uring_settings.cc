#include "backends/io_uring/io_uring_settings.hh"

#include <sched.h>

#include <cstdint>

namespace zc {

namespace {

using u = uring_settings;

constexpr setting_key keys[] = {
    integer_setting<&u::entries>("entries", 8, 32768,
                                 "submission queue slots; the completion queue gets 4x"),
    integer_setting<&u::buffers>(
        "buffers", 16, 32768, "provided receive buffers per worker (rounded up to a power of two)"),
    integer_setting<&u::buffer_size>("buffer_size", 512, 1 << 20,
                                     "bytes per provided receive buffer"),
    bool_setting<&u::sqpoll>(
        "sqpoll",
        "a kernel thread polls the submission queue: no system call to submit, but it burns a "
        "CPU while busy (its time is in zcserve's process CPU figures)"),
    duration_setting<&u::sq_thread_idle>(
        "sq_thread_idle", 1,
        "how long the polling thread spins with nothing to do before sleeping"),
    integer_setting<&u::sq_thread_cpu>(
        "sq_thread_cpu", -1, CPU_SETSIZE - 1,
        "CPU to pin the polling thread to; -1 lets the scheduler choose"),
    duration_setting<&u::sqpoll_spin>(
        "sqpoll_spin", 0,
        "with sqpoll, how long a worker polls for completions before it sleeps in "
        "io_uring_enter; it burns that CPU time to save the call"),
    integer_setting<&u::zc_min_bytes>(
        "zc_min_bytes", 0, std::int64_t{1} << 30,
        "send_zc sends bodies at least this big without a copy; smaller ones are copied, which "
        "costs less than pinning pages"),
    bool_setting<&u::fixed_files>(
        "fixed_files",
        "registered (direct) descriptors: connections are accepted into the ring's file table "
        "and never get a process descriptor, served files are registered there once; "
        "operations skip the descriptor table lookup"),
};

}  // namespace

constinit const engine_section uring_section{uring_settings::section, keys};

}  // namespace zc
