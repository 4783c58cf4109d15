#pragma once
// A read-only view of HTTP response headers, as the policy core sees them.
// Names compare case-insensitively (HTTP/1.1 and HTTP/2 spell them
// differently). The view does not own the bytes; the shell keeps them alive.
#include <cstring>
#include <initializer_list>
#include <memory>
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
// arena is on the heap and moves with the list). The arena is a plain buffer,
// not a std::string: add() is the hot path of every head read or written, and
// two memcpys beat two appends that each check and may grow.
class HeaderList {
 public:
  HeaderList() = default;
  HeaderList(std::initializer_list<std::pair<std::string_view, std::string_view>> init);

  void add(std::string_view name, std::string_view value) {
    const std::size_t n = name.size() + value.size();
    if (capacity_ - used_ < n || refs_.capacity() == refs_.size()) grow(n);
    char* const at = arena_.get() + used_;
    if (!name.empty()) std::memcpy(at, name.data(), name.size());
    if (!value.empty()) std::memcpy(at + name.size(), value.data(), value.size());
    used_ += n;
    refs_.push_back(
        {std::string_view(at, name.size()), std::string_view(at + name.size(), value.size())});
  }
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
  ~HeaderList() = default;

 private:
  // Makes room for `bytes` more bytes and one more field (out of line: rare).
  void grow(std::size_t bytes);
  // Moves the bytes to a buffer of `capacity` and points every view at it.
  void move_arena(std::size_t capacity);
  std::unique_ptr<char[]> arena_;
  std::size_t used_ = 0;
  std::size_t capacity_ = 0;
  std::vector<HeaderRef> refs_;
};

}  // namespace sluice
