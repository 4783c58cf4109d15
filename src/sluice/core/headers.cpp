#include "sluice/core/headers.hpp"

#include <algorithm>
#include <utility>

#include "sluice/core/text.hpp"

namespace sluice {

std::optional<std::string_view> HeaderView::get(std::string_view name) const {
  for (const auto& f : fields_) {
    if (iequals(f.name, name)) return f.value;
  }
  return std::nullopt;
}

namespace {
// The first arena: a usual head fits, so a list allocates it once.
constexpr std::size_t kMinArena = 256;
// A request's usual field count, in one allocation.
constexpr std::size_t kMinFields = 8;
}  // namespace

HeaderList::HeaderList(std::initializer_list<std::pair<std::string_view, std::string_view>> init) {
  for (const auto& [n, v] : init) add(n, v);
}

HeaderList::HeaderList(const HeaderList& other) { *this = other; }

HeaderList& HeaderList::operator=(const HeaderList& other) {
  if (this == &other) return *this;
  arena_.reset();
  used_ = capacity_ = 0;
  refs_.clear();
  reserve(other.used_, other.refs_.size());
  for (const auto& r : other.refs_) add(r.name, r.value);
  return *this;
}

HeaderList::HeaderList(HeaderList&& other) noexcept
    : arena_(std::move(other.arena_)),
      used_(std::exchange(other.used_, 0)),
      capacity_(std::exchange(other.capacity_, 0)),
      refs_(std::move(other.refs_)) {
  other.refs_.clear();
}

HeaderList& HeaderList::operator=(HeaderList&& other) noexcept {
  if (this != &other) {
    arena_ = std::move(other.arena_);
    used_ = std::exchange(other.used_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
    refs_ = std::move(other.refs_);
    other.refs_.clear();
  }
  return *this;
}

void HeaderList::reserve(std::size_t bytes, std::size_t fields) {
  if (capacity_ - used_ < bytes) move_arena(std::max(kMinArena, used_ + bytes));
  refs_.reserve(refs_.size() + fields);
}

void HeaderList::grow(std::size_t bytes) {
  if (capacity_ - used_ < bytes) move_arena(std::max({kMinArena, 2 * capacity_, used_ + bytes}));
  if (refs_.capacity() == refs_.size()) refs_.reserve(std::max(kMinFields, 2 * refs_.size()));
}

void HeaderList::move_arena(std::size_t capacity) {
  auto next = std::make_unique_for_overwrite<char[]>(capacity);
  if (used_ > 0) std::memcpy(next.get(), arena_.get(), used_);
  const char* const old_base = arena_.get();
  for (auto& r : refs_) {
    r.name = std::string_view(next.get() + (r.name.data() - old_base), r.name.size());
    r.value = std::string_view(next.get() + (r.value.data() - old_base), r.value.size());
  }
  arena_ = std::move(next);
  capacity_ = capacity;
}

}  // namespace sluice
