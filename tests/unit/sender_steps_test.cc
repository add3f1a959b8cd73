// What each sender says a reply's body needs (backends/senders/steps.hh),
// from the reply's progress: the steps every engine family's executor
// then carries out. A reply cut short anywhere is asked again and must
// get exactly what is left.

#include <fcntl.h>

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "backends/sender.hh"
#include "server/core/config.hh"

namespace zc {
namespace {

std::vector<step> steps_of(const plan& p) {
  return {p.begin(), p.end()};
}

// A file reply of `length` bytes; the steps never look at the file itself.
reply file_reply(std::uint64_t length) {
  reply r;
  r.status = 200;
  r.head = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(length) + "\r\n\r\n";
  r.body = body_kind::file;
  r.length = length;
  return r;
}

reply memory_reply() {
  static const std::string page = "<h1>Not Found</h1>";
  reply r;
  r.status = 404;
  r.head = "HTTP/1.1 404 Not Found\r\n\r\n";
  r.body = body_kind::memory;
  r.memory = page;
  r.length = page.size();
  return r;
}

std::unique_ptr<sender> make(sender_kind k, engine_family f = engine_family::readiness) {
  config cfg;
  cfg.io.chunk_bytes = 1000;
  return make_sender(k, cfg, f);
}

using enum step;

TEST(SenderSteps, ReadWriteReadsBeforeTheHeadThenWritesEach) {
  auto s = make(sender_kind::read_write);
  reply r = file_reply(5000);
  send_state st;  // the connection's: splice's pipe
  EXPECT_EQ(steps_of(s->next(r, st)), (std::vector<step>{stage, head, staged}));
  EXPECT_EQ(s->next(r, st).chunk, 1000u);
  // The read filled 1000 bytes; the head left in part.
  r.scratch.buf = std::make_unique<char[]>(1000);
  r.scratch.buf_cap = r.scratch.buf_len = 1000;
  r.head_sent = 3;
  EXPECT_EQ(steps_of(s->next(r, st)), (std::vector<step>{head, staged}));
  // The head is out, 400 staged bytes too.
  r.head_sent = r.head.size();
  r.scratch.buf_off = 400;
  r.body_sent = 400;
  EXPECT_EQ(steps_of(s->next(r, st)), (std::vector<step>{staged}));
  r.scratch.buf_off = 1000;
  r.body_sent = 1000;
  EXPECT_EQ(steps_of(s->next(r, st)), (std::vector<step>{stage, staged}));
  r.body_sent = 5000;
  EXPECT_EQ(s->next(r, st).count, 0);
}

TEST(SenderSteps, OnlyReadWriteWritesAMemoryBodyApartFromItsHead) {
  reply r = memory_reply();
  send_state st;
  EXPECT_EQ(steps_of(make(sender_kind::read_write)->next(r, st)),
            (std::vector<step>{head, memory}));
  for (sender_kind k :
       {sender_kind::readv_writev, sender_kind::mmap, sender_kind::sendfile, sender_kind::splice})
    EXPECT_EQ(steps_of(make(k)->next(r, st)), (std::vector<step>{head_memory})) << sender_name(k);
  EXPECT_EQ(steps_of(make(sender_kind::send_zc, engine_family::completion)->next(r, st)),
            (std::vector<step>{head_memory}));
}

TEST(SenderSteps, EachSenderSaysItsAnatomy) {
  reply r = file_reply(5000);
  send_state st;  // the connection's: splice's pipe
  EXPECT_EQ(steps_of(make(sender_kind::readv_writev)->next(r, st)),
            (std::vector<step>{stage, head_staged}));
  EXPECT_EQ(steps_of(make(sender_kind::mmap)->next(r, st)), (std::vector<step>{head_mapped}));
  EXPECT_EQ(steps_of(make(sender_kind::sendfile)->next(r, st)),
            (std::vector<step>{head_more, sendfile}));
  EXPECT_EQ(steps_of(make(sender_kind::send_zc, engine_family::completion)->next(r, st)),
            (std::vector<step>{head_more, mapped_zc}));
  r.head_sent = r.head.size();
  EXPECT_EQ(steps_of(make(sender_kind::sendfile)->next(r, st)), (std::vector<step>{sendfile}));
  EXPECT_EQ(steps_of(make(sender_kind::send_zc, engine_family::completion)->next(r, st)),
            (std::vector<step>{mapped_zc}));
}

TEST(SenderSteps, SpliceDrainsWhatThePipeHoldsBeforeFillingItAgain) {
  auto s = make(sender_kind::splice);
  reply r = file_reply(5000);
  send_state st;  // the connection's: splice's pipe
  const plan first = s->next(r, st);
  EXPECT_EQ(steps_of(first), (std::vector<step>{head_more, fill_pipe, drain_pipe}));
  EXPECT_EQ(first.chunk, static_cast<std::uint64_t>(::fcntl(st.pipe_wr, F_GETPIPE_SZ)))
      << "a step moves what one pipe holds";
  r.head_sent = r.head.size();
  st.in_pipe = 10;
  EXPECT_EQ(steps_of(s->next(r, st)), (std::vector<step>{drain_pipe}));
  st.in_pipe = 0;
  EXPECT_EQ(steps_of(s->next(r, st)), (std::vector<step>{fill_pipe, drain_pipe}));
  s->release(st);
}

TEST(SenderSteps, SpliceWithoutAPipeTakesTheFamilysPathWithoutOne) {
  for (engine_family f : {engine_family::readiness, engine_family::completion}) {
    auto s = make(sender_kind::splice, f);
    // pipes_per_worker() lends at least 2 at a time: take every one.
    std::vector<reply> holders;
    std::vector<send_state> states;
    holders.reserve(64);
    states.reserve(64);
    for (;;) {
      holders.push_back(file_reply(5000));
      states.emplace_back();
      const plan p = s->next(holders.back(), states.back());
      if (p.count == 0 || p.steps[1] != fill_pipe) break;
    }
    const std::vector<step> without = steps_of(s->next(holders.back(), states.back()));
    if (f == engine_family::readiness)
      EXPECT_EQ(without, (std::vector<step>{head_more, sendfile}));
    else
      EXPECT_EQ(without, (std::vector<step>{stage, head, staged}));
    for (send_state& st : states) s->release(st);
  }
}

TEST(SenderSteps, TheFactoryMakesOnlyWhatKindsDefGivesTheFamily) {
  for (const sender_traits& t : all_senders())
    for (engine_family f :
         {engine_family::readiness, engine_family::completion, engine_family::userspace})
      EXPECT_EQ(make(t.kind, f) != nullptr, has(t.families, f))
          << t.name << " for " << family_name(f);
}

TEST(SenderSteps, EveryStepHasAName) {
  for (int i = 0; i <= static_cast<int>(drain_pipe); ++i)
    EXPECT_FALSE(step_name(static_cast<step>(i)).empty()) << i;
}

}  // namespace
}  // namespace zc
