/* The policy mode from C: take a slot on a provider's key, report the 429 the
 * provider answered, and see the key benched for the next caller.
 *   cc slots.c $(pkg-config --cflags --libs sluice) -o slots
 *   ./slots sluice.yaml zai glm-5.1      (a config whose provider `zai` has one key)
 */
#include <sluice/sluice.h>
#include <stdio.h>

static void print_result(const char* what, sluice_slot* slot) {
  char* result = sluice_slot_result(slot);
  printf("%s: %s\n", what, result ? result : "(out of memory)");
  sluice_free(result);
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: slots CONFIG PROVIDER MODEL\n");
    return 2;
  }
  char* error = NULL;
  sluice_engine* engine = sluice_engine_open(argv[1], &error);
  if (!engine) {
    fprintf(stderr, "slots: %s\n", error ? error : "cannot open the engine");
    sluice_free(error);
    return 1;
  }
  char request[512];
  snprintf(request, sizeof request,
           "{\"provider\":\"%s\",\"model\":\"%s\",\"priority\":\"interactive\",\"timeout_s\":1}",
           argv[2], argv[3]);

  sluice_slot* slot = sluice_slot_begin(engine, request, NULL, NULL);
  sluice_slot_wait(slot, -1.0);
  print_result("first", slot);
  /* ... the request is sent with the key the result names; the provider says 429 ... */
  char* verdict = sluice_slot_learn(slot,
                                    "{\"status\":429,\"headers\":{\"retry-after\":\"30\"},"
                                    "\"body\":\"{\\\"error\\\":{\\\"code\\\":\\\"1303\\\","
                                    "\\\"message\\\":\\\"rate limit\\\"}}\"}");
  printf("learned: %s\n", verdict ? verdict : "(out of memory)");
  sluice_free(verdict);
  sluice_slot_release(slot);

  slot = sluice_slot_begin(engine, request, NULL, NULL);
  sluice_slot_wait(slot, -1.0);
  print_result("second", slot);
  sluice_slot_release(slot);
  sluice_engine_close(engine);
  return 0;
}
