#include "dipole/app/plot.hpp"

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
                const std::string& ylabel, const std::vector<PlotSeries>& series, const PlotStyle& style) {
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
      "set ylabel {}\nset grid\nset key outside right\n",
      quoted(png), quoted(title), quoted(xlabel), quoted(ylabel));
  for (const auto& [x, label] : style.vertical_lines)
    script += fmt::format(
        "set arrow from {0}, graph 0 to {0}, graph 1 nohead dashtype 2 linewidth 2 linecolor rgb \"black\"\n"
        "set label {1} at {0}, graph 0.97 offset 0.5, 0 left\n",
        x, quoted(label));
  script += "plot ";
  for (std::size_t i = 0; i < series.size(); ++i) {
    const bool bars = !series[i].errors.empty();
    const std::size_t color = i + 1;
    if (style.bands && bars)
      script += fmt::format(
          "{}{} index {} using 1:($2-$3):($2+$3) with filledcurves fillstyle transparent solid 0.2 noborder "
          "linecolor {} notitle, {} index {} using 1:2 with lines linewidth 2 linecolor {} title {}",
          i ? ", " : "", quoted(dat), i, color, quoted(dat), i, color, quoted(series[i].title));
    else
      script += fmt::format("{}{} index {} using 1:2{} with {} linecolor {} title {}", i ? ", " : "",
                            quoted(dat), i, bars ? ":3" : "", bars ? "yerrorlines" : "linespoints", color,
                            quoted(series[i].title));
  }
  script += "\n";
  write_text_atomic(script_path, script);
  const std::string command = "gnuplot " + quoted(script_path) + " > /dev/null 2>&1";
  return std::system(command.c_str()) == 0;
}

}  // namespace dipole
