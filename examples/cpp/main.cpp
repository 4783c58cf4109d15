// libsluice from C++: check a config and classify an outcome given on the
// command line (JSON), printing both verdicts.
#include <iostream>
#include <sluice/sluice.hpp>

int main(int argc, char** argv) {
  const char* outcome = argc > 1 ? argv[1] : R"({"provider":"zai","status":429})";
  std::cout << "sluice " << sluice::api::version() << "\n";
  std::cout << sluice::api::classify(outcome) << "\n";
  std::cout << sluice::api::check_config("providers: {}\n", "example.yaml") << "\n";
}
