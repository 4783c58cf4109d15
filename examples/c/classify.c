/* libsluice from C: classify one provider answer and print the verdict.
 *   cc classify.c $(pkg-config --cflags --libs sluice) -o classify
 *   ./classify '{"provider":"openai","status":429,"headers":{"retry-after":"20"}}'
 */
#include <sluice/sluice.h>
#include <stdio.h>

int main(int argc, char** argv) {
  const char* outcome = argc > 1 ? argv[1]
                                 : "{\"provider\":\"openai\",\"status\":429,"
                                   "\"headers\":{\"retry-after\":\"20\"},"
                                   "\"body\":\"{\\\"error\\\":{\\\"message\\\":\\\"Rate limit "
                                   "reached for requests\\\",\\\"type\\\":\\\"requests\\\"}}\"}";
  char* verdict = sluice_classify(outcome);
  if (!verdict) return 2;
  printf("sluice %s (ABI %d): %s\n", sluice_version(), sluice_abi_version(), verdict);
  sluice_free(verdict);
  return 0;
}
