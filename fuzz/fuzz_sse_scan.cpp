// libFuzzer target: SSE terminal detection. Byte 0 picks where the stream is
// cut in two, the rest is the stream. Feeding it in two pieces, byte by byte
// or whole must give the same answer, and a data event found in a prefix must
// still be found in the whole.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sluice/providers/sse_scan.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace p = sluice::providers;
  if (size == 0) return 0;
  const std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::size_t cut = stream.empty() ? 0 : data[0] % (stream.size() + 1);

  p::TerminalWatch whole;
  whole.feed(stream);
  p::TerminalWatch split;
  split.feed(stream.substr(0, cut));
  split.feed(stream.substr(cut));
  p::TerminalWatch bytes;
  for (std::size_t i = 0; i < stream.size(); ++i) bytes.feed(stream.substr(i, 1));
  if (whole.seen() != split.seen() || whole.error() != split.error()) std::abort();
  if (whole.seen() != bytes.seen() || whole.error() != bytes.error()) std::abort();
  if (whole.error() && !whole.seen()) std::abort();

  if (p::has_data_event(stream.substr(0, cut)) && !p::has_data_event(stream)) std::abort();
  return 0;
}
