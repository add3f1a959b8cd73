#pragma once

// Deadlines for connections, in O(1). Every timeout of one kind has the same
// length, so a list kept in arming order is also in deadline order: arming
// appends at the tail, the earliest deadline is always at the head. This is
// what nginx's and lighttpd's per-kind timeout queues rely on too.

#include <cstdint>

namespace zc {

struct timer_node {
  timer_node* prev = nullptr;
  timer_node* next = nullptr;
  std::int64_t deadline_ms = 0;
  int list = -1;  // which timer_list holds it, -1 for none
};

class timer_list {
 public:
  explicit timer_list(int id, std::int64_t length_ms) noexcept : id_(id), length_ms_(length_ms) {}

  int id() const noexcept { return id_; }
  bool empty() const noexcept { return head_ == nullptr; }
  timer_node* front() const noexcept { return head_; }

  void push(timer_node& n, std::int64_t now_ms) noexcept {
    n.deadline_ms = now_ms + length_ms_;
    n.list = id_;
    n.prev = tail_;
    n.next = nullptr;
    if (tail_ != nullptr)
      tail_->next = &n;
    else
      head_ = &n;
    tail_ = &n;
  }

  void remove(timer_node& n) noexcept {
    if (n.prev != nullptr)
      n.prev->next = n.next;
    else
      head_ = n.next;
    if (n.next != nullptr)
      n.next->prev = n.prev;
    else
      tail_ = n.prev;
    n.prev = n.next = nullptr;
    n.list = -1;
  }

 private:
  int id_;
  std::int64_t length_ms_;
  timer_node* head_ = nullptr;
  timer_node* tail_ = nullptr;
};

}  // namespace zc
