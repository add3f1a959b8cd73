// What crossing into the kernel costs on this machine, beside what staying
// in user space costs. loadtest/run prints these next to the per-request
// system-call counts, so that "sendfile saves one call per request" can be
// read as "saves about N ns of CPU per request here".
//
//   build/loadtest/syscall_cost                       # a table
//   build/loadtest/syscall_cost --benchmark_format=json
//
// Four timings:
//   function_call            a call to a function the compiler may not
//                            inline: the floor, a few cycles
//   getpid_syscall           syscall(SYS_getpid): the cheapest real system
//                            call, entry and exit with next to no work;
//                            glibc's getpid() is not used because glibc
//                            versions have cached its result
//   clock_gettime_vdso       clock_gettime(CLOCK_MONOTONIC) as programs call
//                            it: the vDSO answers in user space, no crossing
//   clock_gettime_syscall    the same clock through a real system call, for
//                            the difference the vDSO makes
//
// The cost of a crossing depends on the CPU, the kernel's speculative-
// execution mitigations and whether anything traces system calls: under
// `perf stat -e raw_syscalls:sys_enter` (as during loadtest/run's runs) every
// call also enters the tracepoint handler. loadtest/run times both ways.

#include <benchmark/benchmark.h>

#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

namespace {

// noinline plus an empty asm statement: the call and its return stay in
// the generated code, and the body cannot be folded away.
[[gnu::noinline]] int plain_function(int x) {
  asm volatile("" : "+r"(x));
  return x + 1;
}

void function_call(benchmark::State& state) {
  int x = 0;
  for (auto _ : state) {
    x = plain_function(x);
    benchmark::DoNotOptimize(x);
  }
}
BENCHMARK(function_call);

void getpid_syscall(benchmark::State& state) {
  for (auto _ : state) {
    long pid = syscall(SYS_getpid);
    benchmark::DoNotOptimize(pid);
  }
}
BENCHMARK(getpid_syscall);

void clock_gettime_vdso(benchmark::State& state) {
  timespec ts{};
  for (auto _ : state) {
    clock_gettime(CLOCK_MONOTONIC, &ts);
    benchmark::DoNotOptimize(ts);
  }
}
BENCHMARK(clock_gettime_vdso);

void clock_gettime_syscall(benchmark::State& state) {
  timespec ts{};
  for (auto _ : state) {
    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
    benchmark::DoNotOptimize(ts);
  }
}
BENCHMARK(clock_gettime_syscall);

}  // namespace

BENCHMARK_MAIN();
