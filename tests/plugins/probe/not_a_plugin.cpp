// A shared library that is not a Dipole plugin (no DIPOLE_PLUGIN block).
extern "C" int some_other_function() { return 42; }
