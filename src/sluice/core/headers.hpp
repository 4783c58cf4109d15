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

// Owning header storage for tests, the CLI and fixtures.
class HeaderList {
 public:
  HeaderList() = default;
  HeaderList(std::initializer_list<std::pair<std::string, std::string>> init);

  void add(std::string name, std::string value);
  HeaderView view() const { return HeaderView(refs_); }
  std::size_t size() const { return owned_.size(); }

  HeaderList(const HeaderList& other);
  HeaderList& operator=(const HeaderList& other);
  HeaderList(HeaderList&&) noexcept = default;
  HeaderList& operator=(HeaderList&&) noexcept = default;

 private:
  void rebuild_refs();
  std::vector<std::pair<std::string, std::string>> owned_;
  std::vector<HeaderRef> refs_;
};

}  // namespace sluice
