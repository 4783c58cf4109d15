#pragma once
// A retry budget: retries may not exceed `ratio` of the recent requests plus a
// small floor per window (the gRPC / Finagle scheme). When a provider is down
// and every request fails, retries stop at that fraction instead of
// multiplying the load; the floor keeps a quiet gateway able to retry at all.
//
// Counts live in a fixed ring of slots (window / 10 each), so memory is
// bounded and old slots age out as `now` moves. The window is therefore
// approximate: a count leaves it between 9/10 and one full window later.
//
// A plain value type: no clock, no I/O; the caller passes `now`.
#include <array>
#include <cstdint>
#include <limits>

#include "sluice/core/time.hpp"

namespace sluice::policy {

struct RetryBudgetConfig {
  double ratio = 0.2;
  int min_per_window = 3;
  Duration window = std::chrono::seconds(10);
};

class RetryBudget {
 public:
  // Out-of-range settings are clamped: ratio >= 0 (NaN -> 0), floor >= 0,
  // window >= one nanosecond per slot.
  explicit RetryBudget(RetryBudgetConfig config = {});

  // Call once per logical request (not per attempt), so retries do not earn
  // more retries.
  void record_request(TimePoint now);
  // Spends one retry when the budget allows it; false leaves the budget as is.
  bool try_spend_retry(TimePoint now);
  // ratio * requests + floor - retries within the window; < 1 means no retry.
  double available(TimePoint now) const;

  const RetryBudgetConfig& config() const { return config_; }

 private:
  static constexpr std::size_t kSlots = 10;
  struct Slot {
    // Which window/10 period the counts belong to; the initial value is stale
    // for any real instant.
    std::int64_t period = std::numeric_limits<std::int64_t>::min();
    std::uint64_t requests = 0;
    std::uint64_t retries = 0;
  };

  std::int64_t period_of(TimePoint now) const;
  Slot& slot_for(TimePoint now);

  RetryBudgetConfig config_;
  Duration slot_width_;
  std::array<Slot, kSlots> slots_{};
};

}  // namespace sluice::policy
