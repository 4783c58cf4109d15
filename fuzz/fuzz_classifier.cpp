// libFuzzer target: the classifier on arbitrary bodies. Byte 0 picks the
// dialect, bytes 1-2 the status (or none), byte 3 the transport and stream
// state; the rest is the body. Must never crash, hang or throw.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sluice/policy/errors/classifier.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  sluice::policy::UpstreamOutcome in;
  in.dialect = static_cast<sluice::Dialect>(data[0] % 19);
  const int status = 100 + ((data[1] << 8) | data[2]) % 500;
  if (data[1] != 0xff) in.status = status;
  in.transport = static_cast<sluice::policy::TransportFailure>(data[3] % 6);
  if (data[3] & 0x80) {
    in.stream = sluice::policy::StreamState{.first_byte_sent = (data[3] & 0x40) != 0,
                                            .terminal_seen = (data[3] & 0x20) != 0,
                                            .data_seen = (data[3] & 0x10) != 0};
  }
  in.body = std::string_view(reinterpret_cast<const char*>(data + 4), size - 4);
  in.now = sluice::from_unix_ms(1'788'825'600'000);
  in.request = {.tokens = data[1] * 1000, .messages = data[2], .context_length = 200000};
  auto c = sluice::policy::classify(in);
  (void)c;
  return 0;
}
