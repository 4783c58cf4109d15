#include "sluice/core/headers.hpp"

#include "sluice/core/text.hpp"

namespace sluice {

std::optional<std::string_view> HeaderView::get(std::string_view name) const {
  for (const auto& f : fields_) {
    if (iequals(f.name, name)) return f.value;
  }
  return std::nullopt;
}

HeaderList::HeaderList(std::initializer_list<std::pair<std::string, std::string>> init) {
  owned_.assign(init.begin(), init.end());
  rebuild_refs();
}

HeaderList::HeaderList(const HeaderList& other) : owned_(other.owned_) { rebuild_refs(); }

HeaderList& HeaderList::operator=(const HeaderList& other) {
  if (this != &other) {
    owned_ = other.owned_;
    rebuild_refs();
  }
  return *this;
}

void HeaderList::add(std::string name, std::string value) {
  owned_.emplace_back(std::move(name), std::move(value));
  rebuild_refs();  // strings may have moved when the vector grew
}

void HeaderList::rebuild_refs() {
  refs_.clear();
  refs_.reserve(owned_.size());
  for (const auto& [n, v] : owned_) refs_.push_back({n, v});
}

}  // namespace sluice
