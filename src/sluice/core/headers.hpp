#pragma once
// A read-only view of HTTP response headers, as the policy core sees them.
// Names compare case-insensitively (HTTP/1.1 and HTTP/2 spell them
// differently). The view does not own the bytes; the shell keeps them alive.
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice {

struct HeaderRef {
  std::string_view name;
  std::string_view value;
};

class HeaderView {
 public:
  HeaderView() = default;
  explicit HeaderView(std::span<const HeaderRef> fields) : fields_(fields) {}

  // The first value of `name`, or nullopt.
  std::optional<std::string_view> get(std::string_view name) const;
  std::span<const HeaderRef> fields() const { return fields_; }
  bool empty() const { return fields_.empty(); }

 private:
  std::span<const HeaderRef> fields_;
};

// Owning header storage: every name and value in one byte arena, with views
// into it (a request's headers cost two allocations, not two per field). The
// views are rebased whenever the arena moves, so view() always reads back
// what was added; a HeaderView taken earlier stays valid until the next add()
// or until the list is destroyed (moving the list keeps it valid too: the
// arena is never small enough to live inside the object).
class HeaderList {
 public:
  HeaderList() = default;
  HeaderList(std::initializer_list<std::pair<std::string_view, std::string_view>> init);

  void add(std::string_view name, std::string_view value);
  // Room for `fields` fields holding `bytes` bytes of names and values, so
  // that many add()s allocate nothing more.
  void reserve(std::size_t bytes, std::size_t fields);
  HeaderView view() const { return HeaderView(refs_); }
  std::size_t size() const { return refs_.size(); }
  bool empty() const { return refs_.empty(); }
  const HeaderRef& operator[](std::size_t i) const { return refs_[i]; }
  std::vector<HeaderRef>::const_iterator begin() const { return refs_.begin(); }
  std::vector<HeaderRef>::const_iterator end() const { return refs_.end(); }

  HeaderList(const HeaderList& other);
  HeaderList& operator=(const HeaderList& other);
  HeaderList(HeaderList&& other) noexcept;
  HeaderList& operator=(HeaderList&& other) noexcept;

 private:
  // Points every view at `arena_`, given where the bytes were before.
  void rebase(const char* old_base);
  std::string arena_;
  std::vector<HeaderRef> refs_;
};

}  // namespace sluice
