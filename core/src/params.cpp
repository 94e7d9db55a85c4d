// TOML rendering of parameter values (defaults in `dipole plugins`, resolved pipelines).
#include "dipole/params.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>
#include <type_traits>

namespace dipole {
namespace {

// Shortest text that parses back to the same double and that TOML reads as a float (not an int).
std::string float_to_toml(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  std::string text(buffer, result.ptr);
  if (text.find_first_of(".eE") == std::string::npos) text += ".0";
  return text;
}

std::string quote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char escaped[8];
          std::snprintf(escaped, sizeof(escaped), "\\u%04x", static_cast<unsigned>(c));
          out += escaped;
        } else {
          out += c;  // UTF-8 bytes pass through unchanged
        }
    }
  }
  return out + "\"";
}

std::string scalar_to_toml(bool value) {
  return value ? "true" : "false";
}
std::string scalar_to_toml(std::int64_t value) {
  return std::to_string(value);
}
std::string scalar_to_toml(double value) {
  return float_to_toml(value);
}
std::string scalar_to_toml(const std::string& value) {
  return quote(value);
}

template <class T>
std::string list_to_toml(const std::vector<T>& values) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ", ";
    out += scalar_to_toml(values[i]);
  }
  return out + "]";
}

}  // namespace

std::string to_toml(const ParamValue& value) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::vector<double>> ||
                      std::is_same_v<T, std::vector<std::int64_t>> ||
                      std::is_same_v<T, std::vector<std::string>>) {
          return list_to_toml(v);
        } else {
          return scalar_to_toml(v);
        }
      },
      value);
}

}  // namespace dipole
