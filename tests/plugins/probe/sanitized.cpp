// A library built with AddressSanitizer (its code calls __asan_* runtime functions): loading it into
// a dipole built without sanitizers must be a PluginError, not the sanitizer runtime's abort.
extern "C" int dipole_sanitized_probe(const int* values, int index) {
  return values[index];
}
