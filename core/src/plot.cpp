#include "dipole/core/plot.hpp"

#include <fmt/format.h>

#include <cstdlib>

#include "dipole/core/files.hpp"

namespace dipole {

namespace {
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) out += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  return out + "\"";
}
}  // namespace

bool plot_lines(const std::string& png, const std::string& title, const std::string& xlabel,
                const std::string& ylabel, const std::vector<PlotSeries>& series) {
  // One data block per series, separated by two blank lines (gnuplot's `index`).
  std::string data;
  for (const auto& s : series) {
    data += "# " + s.title + "\n";
    for (std::size_t i = 0; i < s.points.size(); ++i)
      data += fmt::format("{} {} {}\n", s.points[i].first, s.points[i].second,
                          i < s.errors.size() ? s.errors[i] : 0.0);
    data += "\n\n";
  }
  const std::string dat = png + ".dat", script_path = png + ".gp";
  write_text_atomic(dat, data);
  std::string script = fmt::format(
      "set terminal pngcairo size 900,600 noenhanced\nset output {}\nset title {}\nset xlabel {}\n"
      "set ylabel {}\nset grid\nset key outside right\nplot ",
      quoted(png), quoted(title), quoted(xlabel), quoted(ylabel));
  for (std::size_t i = 0; i < series.size(); ++i) {
    const bool bars = !series[i].errors.empty();
    script += fmt::format("{}{} index {} using 1:2{} with {} title {}", i ? ", " : "", quoted(dat), i,
                          bars ? ":3" : "", bars ? "yerrorlines" : "linespoints", quoted(series[i].title));
  }
  script += "\n";
  write_text_atomic(script_path, script);
  const std::string command = "gnuplot " + quoted(script_path) + " > /dev/null 2>&1";
  return std::system(command.c_str()) == 0;
}

}  // namespace dipole
