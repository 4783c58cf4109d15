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
  // Strings move (short ones with their bytes) only when the vector grows:
  // then every view is rebuilt; otherwise the new field's view is appended.
  const bool grows = owned_.size() == owned_.capacity();
  owned_.emplace_back(std::move(name), std::move(value));
  if (grows) {
    rebuild_refs();
  } else {
    refs_.push_back({owned_.back().first, owned_.back().second});
  }
}

void HeaderList::rebuild_refs() {
  refs_.clear();
  refs_.reserve(owned_.size());
  for (const auto& [n, v] : owned_) refs_.push_back({n, v});
}

}  // namespace sluice
