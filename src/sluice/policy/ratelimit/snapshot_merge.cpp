#include "sluice/policy/ratelimit/snapshot_merge.hpp"

#include <algorithm>

namespace sluice::policy {

RateLimitSnapshot merge_same_window(const RateLimitSnapshot* previous, RateLimitSnapshot next,
                                    Duration same_window) {
  if (previous == nullptr) return next;
  // Resets computed from whole-second Dates may differ by that second within
  // one window: widen "the same instant" by it.
  same_window += std::max(previous->reset_uncertainty, next.reset_uncertainty);
  for (RateLimitBucket& nb : next.buckets) {
    const RateLimitBucket* ob = previous->find(nb.name);
    if (ob == nullptr || !ob->remaining || !nb.remaining || !ob->reset_after || !nb.reset_after) {
      continue;
    }
    const TimePoint old_reset = previous->taken_at + *ob->reset_after;
    const TimePoint new_reset = next.taken_at + *nb.reset_after;
    if (new_reset + same_window < old_reset && old_reset > next.taken_at) {
      // A reply from an earlier window, handled after replies from the
      // current one: keep what the current window said.
      nb = *ob;
      nb.reset_after = old_reset - next.taken_at;
      continue;
    }
    const Duration apart = old_reset > new_reset ? old_reset - new_reset : new_reset - old_reset;
    if (apart <= same_window && *ob->remaining < *nb.remaining) {
      nb.remaining = ob->remaining;  // an earlier reply, overtaken by a later one
    }
  }
  return next;
}

}  // namespace sluice::policy
