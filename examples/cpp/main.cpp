// libsluice from C++: check a config and classify an outcome given on the
// command line (JSON), printing both verdicts; with a config file as the
// second argument, also take a slot from an in-process engine and report a
// success in it.
#include <iostream>
#include <sluice/sluice.hpp>

int main(int argc, char** argv) {
  const char* outcome = argc > 1 ? argv[1] : R"({"provider":"zai","status":429})";
  std::cout << "sluice " << sluice::api::version() << "\n";
  std::cout << sluice::api::classify(outcome) << "\n";
  std::cout << sluice::api::check_config("providers: {}\n", "example.yaml") << "\n";
  if (argc > 2) {
    std::string error;
    auto engine = sluice::api::Engine::open(argv[2], &error);
    if (!engine) {
      std::cerr << error << "\n";
      return 1;
    }
    sluice::api::Slot slot = engine->slot(R"({"provider":"zai","model":"glm-5.1"})");
    std::cout << slot.result() << "\n";
    std::cout << slot.learn(R"({"status":200,"body":"{}"})") << "\n";
    // The transport mode: a request through the front door, read as events.
    sluice::api::Call call =
        engine->call("POST", "/v1/chat/completions", R"({"model":"no-such-alias","messages":[]})",
                     R"([["content-type","application/json"]])");
    for (auto e = call.next(); e.kind != SLUICE_CALL_END && e.kind != SLUICE_CALL_ABORTED;
         e = call.next()) {
      std::cout << (e.kind == SLUICE_CALL_HEAD ? "head: " : "body: ") << e.data << "\n";
    }
  }
}
