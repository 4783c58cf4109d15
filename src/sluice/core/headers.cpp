#include "sluice/core/headers.hpp"

#include <algorithm>

#include "sluice/core/text.hpp"

namespace sluice {

std::optional<std::string_view> HeaderView::get(std::string_view name) const {
  for (const auto& f : fields_) {
    if (iequals(f.name, name)) return f.value;
  }
  return std::nullopt;
}

namespace {
// Above std::string's in-object capacity: a heap arena keeps its address
// when the string is moved, so views survive a move of the list.
constexpr std::size_t kMinArena = 256;
}  // namespace

HeaderList::HeaderList(std::initializer_list<std::pair<std::string_view, std::string_view>> init) {
  for (const auto& [n, v] : init) add(n, v);
}

HeaderList::HeaderList(const HeaderList& other) : arena_(other.arena_), refs_(other.refs_) {
  if (!refs_.empty()) arena_.reserve(std::max(kMinArena, other.arena_.size()));
  rebase(other.arena_.data());
}

HeaderList& HeaderList::operator=(const HeaderList& other) {
  if (this != &other) {
    arena_ = other.arena_;
    arena_.reserve(std::max(kMinArena, arena_.size()));
    refs_ = other.refs_;
    rebase(other.arena_.data());
  }
  return *this;
}

HeaderList::HeaderList(HeaderList&& other) noexcept
    : arena_(std::move(other.arena_)), refs_(std::move(other.refs_)) {
  other.arena_.clear();
  other.refs_.clear();
}

HeaderList& HeaderList::operator=(HeaderList&& other) noexcept {
  if (this != &other) {
    arena_ = std::move(other.arena_);
    refs_ = std::move(other.refs_);
    other.arena_.clear();
    other.refs_.clear();
  }
  return *this;
}

void HeaderList::add(std::string_view name, std::string_view value) {
  const char* const old_base = arena_.data();
  if (arena_.capacity() < kMinArena) arena_.reserve(kMinArena);
  if (refs_.empty()) refs_.reserve(8);  // a request's usual count, in one allocation
  arena_.reserve(arena_.size() + name.size() + value.size());  // amortised: grows by doubling
  if (arena_.data() != old_base) rebase(old_base);
  // Offsets for now: the views are made once the bytes are in place.
  const std::size_t at = arena_.size();
  arena_.append(name).append(value);
  const char* const base = arena_.data();
  refs_.push_back({std::string_view(base + at, name.size()),
                   std::string_view(base + at + name.size(), value.size())});
}

void HeaderList::reserve(std::size_t bytes, std::size_t fields) {
  const char* const old_base = arena_.data();
  arena_.reserve(std::max(kMinArena, arena_.size() + bytes));
  rebase(old_base);
  refs_.reserve(refs_.size() + fields);
}

void HeaderList::rebase(const char* old_base) {
  const char* const base = arena_.data();
  if (base == old_base) return;
  for (auto& r : refs_) {
    r.name = std::string_view(base + (r.name.data() - old_base), r.name.size());
    r.value = std::string_view(base + (r.value.data() - old_base), r.value.size());
  }
}

}  // namespace sluice
