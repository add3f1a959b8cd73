#pragma once

// Bytes of files the dpdk engine's stack references, guarded against the
// file shrinking under them. The mmap sender hands lwIP references into
// the file cache's mapping; lwIP reads them when it checksums a segment
// and when it sends a zero-window probe, and the device when it copies a
// frame into a transmit buffer. If the file was truncated meanwhile, the
// page is gone and the read raises SIGBUS, in code that cannot be unwound
// (lwIP's). So the handler puts a page of zeros where the lost page was,
// marks the range faulted and returns: the read completes. Nothing built
// from those zeros may leave: while a fault is pending the device sends
// nothing (device::flush), and the engine then drops the queued frames,
// resets every connection that references a faulted range and has the
// cache open the file anew. A SIGBUS anywhere else (an address in no
// guarded range, or on a thread with nothing guarded) gets the default
// action, as if no handler were installed.
//
// The table is the engine thread's; the handler reads it (the fault is
// synchronous, on the thread that reads) with relaxed atomics.

#include <cstddef>

namespace zc::dpdk::page_guard {

// Installs the handler; uninstall() puts back what was there.
void install();
void uninstall();

// Counts one more reference to [base, base + len): false when the table is
// full (the caller copies instead of referencing).
bool add(const void* base, std::size_t len) noexcept;
// One reference fewer; the range leaves the table with its last.
void remove(const void* base) noexcept;

// A fault happened since the last take_fault(): frames must not leave.
bool pending() noexcept;
// Clears pending(); true when it was set.
bool take_fault() noexcept;
// The range at `base` lost a page since it was added.
bool faulted(const void* base) noexcept;

}  // namespace zc::dpdk::page_guard
