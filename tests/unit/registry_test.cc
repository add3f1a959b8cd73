// The backends' registry (backends/registry.hh): names, defaults, reasons.

#include <gtest/gtest.h>

#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "backends/registry.hh"
#include "backends/senders/readiness.hh"
#include "server/core/config.hh"

namespace zc {
namespace {

TEST(Registry, AnUnknownEngineIsNamedWithWhatIsAllowed) {
  config c;
  c.io.engine = "kqueue";
  const std::string why = validate_backends(c);
  EXPECT_NE(why.find("io.engine = \"kqueue\""), std::string::npos) << why;
  EXPECT_NE(why.find("allowed: "), std::string::npos) << why;
  EXPECT_NE(why.find("epoll"), std::string::npos) << why;
  // An engine not built is not offered.
  for (const engine_info& e : engines()) {
    if (e.make == nullptr) {
      EXPECT_EQ(why.find(std::string(e.name)), std::string::npos) << "offered unbuilt: " << why;
    }
  }
}

TEST(Registry, AnEngineNotBuiltSaysSo) {
  const engine_info* e = find_engine("dpdk");
  ASSERT_NE(e, nullptr);
  if (e->make != nullptr) GTEST_SKIP() << "dpdk is built here (ZC_ENGINE_DPDK=OFF builds it out)";
  config c;
  c.io.engine = "dpdk";
  EXPECT_NE(validate_backends(c).find("not compiled in"), std::string::npos);
}

TEST(Registry, NoSenderMeansTheEnginesDefault) {
  for (const engine_info& e : engines()) {
    if (e.make == nullptr || !e.unusable().empty()) continue;
    config c;
    c.io.engine = std::string(e.name);
    ASSERT_EQ(validate_backends(c), "") << e.name;
    const sender_entry* d = default_sender(e);
    ASSERT_NE(d, nullptr) << e.name;
    EXPECT_EQ(c.io.sender, sender_name(d->kind));
    const sender_entry* preferred =
        e.preferred ? find_sender(e, sender_name(*e.preferred)) : nullptr;
    if (preferred != nullptr && preferred->unusable().empty()) {
      EXPECT_EQ(d->kind, e.preferred) << e.name;
    }
  }
}

TEST(Registry, ASenderOfAnotherEngineIsRefusedWithTheAllowedOnes) {
  const engine_info* e = find_engine("epoll");
  if (e == nullptr || e->make == nullptr) GTEST_SKIP() << "epoll not built";
  config c;
  c.io.engine = "epoll";
  c.io.sender = "send_zc";
  const std::string why = validate_backends(c);
  EXPECT_NE(why.find("io.sender = \"send_zc\""), std::string::npos) << why;
  EXPECT_NE(why.find("not a sender of engine epoll"), std::string::npos) << why;
  EXPECT_NE(why.find("sendfile"), std::string::npos) << why;
}

TEST(Registry, ListingMarksExactlyOneDefaultPerUsableEngine) {
  const std::string listing = list_backends();
  for (const engine_info& e : engines()) {
    std::istringstream in(listing);
    int defaults = 0, lines = 0;
    for (std::string line; std::getline(in, line);) {
      if (line.find("engine=" + std::string(e.name) + " ") == std::string::npos) continue;
      ++lines;
      if (line.find("(default)") != std::string::npos) ++defaults;
    }
    EXPECT_GE(lines, 1) << e.name << " missing from --list-backends";
    const bool usable = e.make != nullptr && e.unusable().empty() && default_sender(e) != nullptr;
    EXPECT_EQ(defaults, usable ? 1 : 0) << e.name << "\n" << listing;
  }
}

TEST(Registry, EveryReadinessSenderKindMakesThatSender) {
  config c;
  for (const sender_traits& t : all_senders()) {
    auto made = make_readiness_sender(t.kind, c);
    if (!has(t.families, engine_family::readiness)) {
      EXPECT_EQ(made, nullptr) << t.name;
      continue;
    }
    ASSERT_NE(made, nullptr) << t.name;
    EXPECT_EQ(made->kind(), t.kind);
    EXPECT_EQ(made->name(), t.name);
  }
}

// Every engine built lists every sender kinds.def gives its family, in the
// table's order; a sender it lists beyond those (io_uring's sendfile) is
// there only to say why it cannot be had.
TEST(Registry, EachEngineListsTheSendersOfItsFamily) {
  for (const engine_info& e : engines()) {
    if (e.make == nullptr) continue;
    const std::optional<engine_family> family = family_of_engine(e.name);
    ASSERT_TRUE(family.has_value()) << e.name << " is in no family of kinds.def";
    std::vector<sender_kind> driven;
    for (const sender_entry& s : e.senders) {
      if (has(traits(s.kind).families, *family))
        driven.push_back(s.kind);
      else
        EXPECT_NE(s.unusable(), "") << e.name << " lists " << sender_name(s.kind);
    }
    std::vector<sender_kind> want;
    for (const sender_traits& t : all_senders())
      if (has(t.families, *family)) want.push_back(t.kind);
    EXPECT_EQ(driven, want) << e.name;
  }
}

TEST(Registry, NamesAndKindsGoBothWays) {
  for (const sender_traits& t : all_senders()) {
    EXPECT_EQ(find_sender_kind(t.name), t.kind);
    EXPECT_EQ(sender_name(t.kind), t.name);
  }
  EXPECT_EQ(find_sender_kind("sendfile64"), std::nullopt);
}

// docs/architecture.md shows kinds.def as a table between two markers; a
// sender added, renamed or changed in the table fails here until the docs
// say the same (the message holds the lines to paste).
TEST(Senders, TheDocsTableIsKindsDef) {
  std::ifstream in(ZC_SOURCE_DIR "/docs/architecture.md");
  ASSERT_TRUE(in) << ZC_SOURCE_DIR "/docs/architecture.md";
  const std::string begin = "<!-- senders: generated from backends/senders/kinds.def -->";
  const std::string end = "<!-- end of senders -->";
  std::string table;
  bool inside = false, seen = false;
  for (std::string line; std::getline(in, line);) {
    if (line == begin) {
      inside = seen = true;
    } else if (line == end) {
      inside = false;
    } else if (inside) {
      table += line + "\n";
    }
  }
  ASSERT_TRUE(seen) << "docs/architecture.md lacks the line " << begin;
  EXPECT_EQ(table, senders_markdown()) << "docs/architecture.md's senders table should read:\n"
                                       << senders_markdown();
}

}  // namespace
}  // namespace zc
