#include "dipole/app/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "dipole/errors.hpp"

namespace dipole::report {

namespace {

std::vector<std::string> split(const std::string& line, char separator) {
  std::vector<std::string> parts;
  std::stringstream ss(line);
  for (std::string part; std::getline(ss, part, separator);) parts.push_back(part);
  if (!line.empty() && line.back() == separator) parts.emplace_back();
  return parts;
}

template <class T>
void append_unique(std::vector<T>& list, const T& value) {
  if (std::find(list.begin(), list.end(), value) == list.end()) list.push_back(value);
}

}  // namespace

std::vector<Cell> aggregate(const std::vector<RunScore>& scores) {
  std::vector<Cell> cells;
  std::map<std::pair<std::string, std::string>, std::size_t> index;
  for (const auto& s : scores) {
    const auto key = std::make_pair(s.row, s.column);
    auto it = index.find(key);
    if (it == index.end()) {
      it = index.emplace(key, cells.size()).first;
      cells.push_back(Cell{s.row, s.column, {}, {}, 0, 0, std::nullopt});
    }
    Cell& cell = cells[it->second];
    if (std::find(cell.seeds.begin(), cell.seeds.end(), s.seed) != cell.seeds.end())
      throw DataError(fmt::format("two runs of '{}' on '{}' have the same seed {}: keep one of them",
                                  s.column, s.row, s.seed));
    cell.seeds.push_back(s.seed);
    cell.values.push_back(s.value);
  }
  for (Cell& cell : cells) {
    double sum = 0;
    for (double v : cell.values) sum += v;
    cell.mean = sum / static_cast<double>(cell.values.size());
    double squares = 0;
    for (double v : cell.values) squares += (v - cell.mean) * (v - cell.mean);
    cell.std = std::sqrt(squares / static_cast<double>(cell.values.size()));
  }
  // Clipped fractions: mean over the seeds that report one.
  std::map<std::pair<std::string, std::string>, std::vector<double>> clipped;
  for (const auto& s : scores)
    if (s.clipped_fraction) clipped[{s.row, s.column}].push_back(*s.clipped_fraction);
  for (Cell& cell : cells) {
    const auto it = clipped.find({cell.row, cell.column});
    if (it != clipped.end()) cell.clipped_fraction = mean(it->second);
  }
  return cells;
}

std::string markdown_table(const std::vector<Cell>& cells, const std::string& corner, int precision) {
  std::vector<std::string> rows, columns;
  for (const Cell& c : cells) {
    append_unique(rows, c.row);
    append_unique(columns, c.column);
  }
  std::string out = "| " + corner + " |";
  std::string rule = "|---|";
  for (const auto& column : columns) {
    out += " " + column + " |";
    rule += "---:|";
  }
  out += "\n" + rule + "\n";
  for (const auto& row : rows) {
    out += "| " + row + " |";
    for (const auto& column : columns) {
      const auto it = std::find_if(cells.begin(), cells.end(),
                                   [&](const Cell& c) { return c.row == row && c.column == column; });
      out += it == cells.end() ? " – |"
                               : fmt::format(" {:.{}f} ± {:.{}f} |", it->mean, precision, it->std, precision);
    }
    out += "\n";
  }
  return out;
}

std::string csv_table(const std::vector<Cell>& cells) {
  std::string out = "row,column,seeds,mean,std,values\n";
  for (const Cell& c : cells)
    out += fmt::format("{},{},{},{},{},{}\n", c.row, c.column, c.values.size(), c.mean, c.std,
                       fmt::join(c.values, ";"));
  return out;
}

// ---- statistics ------------------------------------------------------------------------------------

double mean(const std::vector<double>& values) {
  if (values.empty()) return 0.0;
  double sum = 0;
  for (double v : values) sum += v;
  return sum / static_cast<double>(values.size());
}

double population_std(const std::vector<double>& values) {
  if (values.size() < 2) return 0.0;
  const double m = mean(values);
  double squares = 0;
  for (double v : values) squares += (v - m) * (v - m);
  return std::sqrt(squares / static_cast<double>(values.size()));
}

double percentile(std::vector<double> values, double q) {
  if (values.empty()) throw DataError("percentile of an empty list");
  if (!(q >= 0.0 && q <= 1.0)) throw DataError(fmt::format("percentile: q = {} is outside [0, 1]", q));
  std::sort(values.begin(), values.end());
  const double position = q * static_cast<double>(values.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(position));
  const std::size_t above = std::min(below + 1, values.size() - 1);
  const double fraction = position - static_cast<double>(below);
  return values[below] + fraction * (values[above] - values[below]);
}

double iqm(std::vector<double> values) {
  if (values.empty()) throw DataError("IQM of an empty list");
  std::sort(values.begin(), values.end());
  // scipy.stats.trim_mean: lowercut = int(0.25 * n), the values [lowercut, n - lowercut).
  const auto cut = static_cast<std::size_t>(0.25 * static_cast<double>(values.size()));
  double sum = 0;
  for (std::size_t i = cut; i < values.size() - cut; ++i) sum += values[i];
  return sum / static_cast<double>(values.size() - 2 * cut);
}

std::uint64_t SplitMix64::next() {
  std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31U);
}

std::size_t SplitMix64::below(std::size_t n) {
  const std::uint64_t bound = static_cast<std::uint64_t>(n);
  const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % bound);  // a multiple of n
  std::uint64_t x = next();
  while (x >= limit) x = next();
  return static_cast<std::size_t>(x % bound);
}

namespace {

Interval interval_of(std::vector<double> statistics, double confidence) {
  if (!(confidence > 0.0 && confidence < 1.0))
    throw DataError(fmt::format("bootstrap confidence {} is outside (0, 1)", confidence));
  return {percentile(statistics, (1.0 - confidence) / 2.0), percentile(statistics, (1.0 + confidence) / 2.0)};
}

}  // namespace

Interval bootstrap_mean(const std::vector<double>& values, int resamples, std::uint64_t seed,
                        double confidence) {
  if (values.empty()) throw DataError("bootstrap of an empty list");
  if (resamples < 1) throw DataError(fmt::format("bootstrap: {} resamples (expected at least 1)", resamples));
  SplitMix64 rng(seed);
  std::vector<double> statistics;
  statistics.reserve(static_cast<std::size_t>(resamples));
  for (int r = 0; r < resamples; ++r) {
    double sum = 0;
    for (std::size_t i = 0; i < values.size(); ++i) sum += values[rng.below(values.size())];
    statistics.push_back(sum / static_cast<double>(values.size()));
  }
  return interval_of(std::move(statistics), confidence);
}

Interval bootstrap_iqm(const std::vector<std::vector<double>>& runs_per_task, int resamples,
                       std::uint64_t seed, double confidence) {
  if (resamples < 1) throw DataError(fmt::format("bootstrap: {} resamples (expected at least 1)", resamples));
  std::size_t total = 0;
  for (const auto& runs : runs_per_task) total += runs.size();
  if (total == 0) throw DataError("bootstrap of an empty list");
  SplitMix64 rng(seed);
  std::vector<double> statistics, drawn;
  statistics.reserve(static_cast<std::size_t>(resamples));
  for (int r = 0; r < resamples; ++r) {
    drawn.clear();
    for (const auto& runs : runs_per_task)
      for (std::size_t i = 0; i < runs.size(); ++i) drawn.push_back(runs[rng.below(runs.size())]);
    statistics.push_back(iqm(drawn));
  }
  return interval_of(std::move(statistics), confidence);
}

std::optional<std::string> category_of(const std::string& task) {
  // <category>[-singletask]-task<k>[-v<m>], separators '-', '_' or ' '.
  static const std::regex pattern(R"(^(.+?)(?:[-_ ]singletask)?[-_ ]task[0-9]+(?:[-_ ]v[0-9]+)?$)");
  std::smatch match;
  if (!std::regex_match(task, match, pattern)) return std::nullopt;
  return match[1].str();
}

// ---- paper-format tables -----------------------------------------------------------------------------

namespace {

TableCell table_cell(std::vector<double> values, const TableOptions& options, std::uint64_t stream) {
  TableCell cell;
  cell.present = !values.empty();
  if (!cell.present) return cell;
  cell.mean = mean(values);
  cell.std = population_std(values);
  cell.seeds = values.size();
  if (options.bootstrap > 0)
    cell.interval =
        bootstrap_mean(values, options.bootstrap, options.bootstrap_seed + stream, options.confidence);
  cell.values = std::move(values);
  return cell;
}

}  // namespace

PaperTable build_table(const std::vector<Cell>& cells, const TableOptions& options) {
  PaperTable table;
  table.corner = options.corner;
  table.precision = options.precision;
  std::vector<std::string> tasks;
  for (const Cell& c : cells) {
    append_unique(tasks, c.row);
    append_unique(table.columns, c.column);
  }
  const auto find = [&](const std::string& row, const std::string& column) -> const Cell* {
    for (const Cell& c : cells)
      if (c.row == row && c.column == column) return &c;
    return nullptr;
  };
  // Each category's tasks (only categories of at least two tasks get a row), and its last task.
  std::map<std::string, std::vector<std::string>> category_tasks;
  if (options.categories)
    for (const auto& task : tasks)
      if (const auto category = category_of(task)) category_tasks[*category].push_back(task);
  std::uint64_t stream = 0;  // each cell's bootstrap gets its own seed: bootstrap_seed + its index
  std::vector<std::string> flagged;
  bool dropped_seeds = false;
  for (const auto& task : tasks) {
    TableRow row{task, TableRow::Kind::Task, {}};
    for (const auto& column : table.columns) {
      const Cell* c = find(task, column);
      TableCell cell = table_cell(c ? c->values : std::vector<double>{}, options, stream++);
      if (c) {
        cell.clipped_fraction = c->clipped_fraction;
        cell.flagged = c->clipped_fraction && *c->clipped_fraction >= options.clip_threshold;
        if (cell.flagged)
          flagged.push_back(fmt::format("{} on {}: {:.2f}", column, task, *c->clipped_fraction));
      }
      row.cells.push_back(std::move(cell));
    }
    table.rows.push_back(std::move(row));
    const auto category = options.categories ? category_of(task) : std::nullopt;
    if (!category) continue;
    const auto& members = category_tasks[*category];
    if (members.size() < 2 || members.back() != task) continue;
    TableRow summary{fmt::format("{} ({} tasks)", *category, members.size()), TableRow::Kind::Category, {}};
    for (const auto& column : table.columns) {
      // Seeds that ran every task of the category in this column, in the first task's order.
      std::vector<const Cell*> member_cells;
      for (const auto& m : members) member_cells.push_back(find(m, column));
      std::vector<double> per_seed;
      if (std::all_of(member_cells.begin(), member_cells.end(), [](const Cell* c) { return c != nullptr; })) {
        for (std::size_t i = 0; i < member_cells.front()->seeds.size(); ++i) {
          const std::string& seed = member_cells.front()->seeds[i];
          double sum = 0;
          bool everywhere = true;
          for (const Cell* c : member_cells) {
            const auto it = std::find(c->seeds.begin(), c->seeds.end(), seed);
            if (it == c->seeds.end()) {
              everywhere = false;
              break;
            }
            sum += c->values[static_cast<std::size_t>(it - c->seeds.begin())];
          }
          if (everywhere) per_seed.push_back(sum / static_cast<double>(member_cells.size()));
        }
        for (const Cell* c : member_cells) dropped_seeds |= c->seeds.size() != per_seed.size();
      }
      summary.cells.push_back(table_cell(per_seed, options, stream++));
    }
    table.rows.push_back(std::move(summary));
  }
  if (options.iqm) {
    TableRow row{"IQM (runs × tasks)", TableRow::Kind::Iqm, {}};
    for (const auto& column : table.columns) {
      std::vector<std::vector<double>> per_task;
      std::vector<double> all;
      for (const auto& task : tasks)
        if (const Cell* c = find(task, column)) {
          per_task.push_back(c->values);
          all.insert(all.end(), c->values.begin(), c->values.end());
        }
      TableCell cell;
      if (!all.empty()) {
        cell.present = true;
        cell.mean = iqm(all);
        cell.seeds = all.size();
        if (options.bootstrap > 0)
          cell.interval =
              bootstrap_iqm(per_task, options.bootstrap, options.bootstrap_seed + stream, options.confidence);
        cell.values = all;
      }
      ++stream;
      row.cells.push_back(std::move(cell));
    }
    table.rows.push_back(std::move(row));
  }
  for (std::size_t j = 0; j < table.columns.size(); ++j) {
    std::map<std::size_t, int> counts;
    for (const auto& row : table.rows)
      if (row.kind == TableRow::Kind::Task && row.cells[j].present) ++counts[row.cells[j].seeds];
    std::size_t best = 0;
    int best_count = 0;
    for (const auto& [n, count] : counts)
      if (count >= best_count) best = n, best_count = count;
    table.column_seeds.push_back(best);
  }
  if (options.bootstrap > 0)
    table.footnotes.push_back(fmt::format(
        "[low, high]: {:g} % percentile bootstrap interval ({} resamples of the seeds{}; seed {})",
        100.0 * options.confidence, options.bootstrap, options.iqm ? "; IQM: stratified over tasks" : "",
        options.bootstrap_seed));
  if (options.iqm)
    table.footnotes.push_back(
        "IQM: interquartile mean over every run of every task row (25 % trimmed at each end, as rliable); "
        "its n counts runs × tasks and it has no ± std");
  if (dropped_seeds)
    table.footnotes.push_back("category means use only the seeds that ran every task of the category");
  if (!flagged.empty())
    table.footnotes.push_back(fmt::format(
        "†: at least {:g} of the sampled action components were at the action bounds (mean clipped fraction "
        "over seeds) — the policy's samples pile up at ±1, typically guidance too strong for the negative "
        "policy: {}",
        options.clip_threshold, fmt::join(flagged, "; ")));
  return table;
}

namespace {

std::string format_cell(const TableCell& cell, std::size_t column_seeds, int precision, bool latex,
                        bool iqm_row) {
  if (!cell.present) return latex ? "--" : "–";
  std::string out = iqm_row ? fmt::format("{:.{}f}", cell.mean, precision)
                            : fmt::format(latex ? "${:.{}f} \\pm {:.{}f}$" : "{:.{}f} ± {:.{}f}", cell.mean,
                                          precision, cell.std, precision);
  if (cell.interval)
    out += fmt::format(" [{:.{}f}, {:.{}f}]", cell.interval->low, precision, cell.interval->high, precision);
  if (iqm_row || cell.seeds != column_seeds) out += fmt::format(" (n={})", cell.seeds);
  if (cell.flagged) out += latex ? "$^\\dagger$" : " †";
  return out;
}

std::string latex_escape(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    static const std::pair<const char*, const char*> unicode[] = {
        {"ω", "$\\omega$"},   {"±", "$\\pm$"},    {"–", "--"},       {"→", "$\\rightarrow$"},
        {"†", "$^\\dagger$"}, {"×", "$\\times$"}, {"β", "$\\beta$"}, {"≥", "$\\geq$"}};
    bool replaced = false;
    for (const auto& [from, to] : unicode) {
      const std::size_t n = std::char_traits<char>::length(from);
      if (text.compare(i, n, from) == 0) {
        out += to;
        i += n;
        replaced = true;
        break;
      }
    }
    if (replaced) continue;
    const char c = text[i++];
    switch (c) {
      case '&':
      case '%':
      case '$':
      case '#':
      case '_':
      case '{':
      case '}':
        out += '\\';
        out += c;
        break;
      case '~':
        out += "\\textasciitilde{}";
        break;
      case '^':
        out += "\\textasciicircum{}";
        break;
      case '\\':
        out += "\\textbackslash{}";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace

std::string to_markdown(const PaperTable& table) {
  std::string out = "| " + table.corner + " |", rule = "|---|";
  for (const auto& column : table.columns) {
    out += " " + column + " |";
    rule += "---:|";
  }
  out += "\n" + rule + "\n";
  for (const auto& row : table.rows) {
    const bool bold = row.kind != TableRow::Kind::Task;
    out += "| " + (bold ? "**" + row.label + "**" : row.label) + " |";
    for (std::size_t j = 0; j < row.cells.size(); ++j)
      out += " " +
             format_cell(row.cells[j], table.column_seeds[j], table.precision, false,
                         row.kind == TableRow::Kind::Iqm) +
             " |";
    out += "\n";
  }
  out += "| seeds |";
  for (std::size_t n : table.column_seeds) out += fmt::format(" {} |", n);
  out += "\n";
  if (!table.footnotes.empty()) {
    out += "\n";
    for (const auto& note : table.footnotes) out += "- " + note + "\n";
  }
  return out;
}

std::string to_latex(const PaperTable& table) {
  std::string out = "\\begin{tabular}{l" + std::string(table.columns.size(), 'r') + "}\n\\toprule\n" +
                    latex_escape(table.corner);
  for (const auto& column : table.columns) out += " & " + latex_escape(column);
  out += " \\\\\n\\midrule\n";
  for (const auto& row : table.rows) {
    if (row.kind != TableRow::Kind::Task) out += "\\midrule\n";
    out += latex_escape(row.label);
    for (std::size_t j = 0; j < row.cells.size(); ++j)
      out += " & " + format_cell(row.cells[j], table.column_seeds[j], table.precision, true,
                                 row.kind == TableRow::Kind::Iqm);
    out += " \\\\\n";
  }
  out += "\\midrule\nseeds";
  for (std::size_t n : table.column_seeds) out += fmt::format(" & {}", n);
  out += " \\\\\n\\bottomrule\n\\end{tabular}\n";
  for (const auto& note : table.footnotes) out += "% " + note + "\n";
  return out;
}

std::string to_csv(const PaperTable& table) {
  std::string out = "row,kind,column,seeds,mean,std,ci_low,ci_high,clipped_fraction,flagged,values\n";
  for (const auto& row : table.rows) {
    const char* kind = row.kind == TableRow::Kind::Task       ? "task"
                       : row.kind == TableRow::Kind::Category ? "category"
                                                              : "iqm";
    for (std::size_t j = 0; j < row.cells.size(); ++j) {
      const TableCell& c = row.cells[j];
      if (!c.present) continue;
      out += fmt::format("{},{},{},{},{},{},{},{},{},{},{}\n", csv_field(row.label), kind,
                         csv_field(table.columns[j]), c.seeds, c.mean, c.std,
                         c.interval ? fmt::format("{}", c.interval->low) : "",
                         c.interval ? fmt::format("{}", c.interval->high) : "",
                         c.clipped_fraction ? fmt::format("{}", *c.clipped_fraction) : "", c.flagged ? 1 : 0,
                         fmt::join(c.values, ";"));
    }
  }
  return out;
}

namespace {

void check_pair(const PaperTable& before, const PaperTable& after) {
  bool same = before.columns == after.columns && before.rows.size() == after.rows.size();
  for (std::size_t i = 0; same && i < before.rows.size(); ++i)
    same = before.rows[i].label == after.rows[i].label;
  if (!same) throw DataError("offline → online table: the two phases' tables have different rows or columns");
}

std::string pair_cell(const TableCell& before, const TableCell& after, std::size_t column_seeds,
                      int precision, bool latex) {
  if (!before.present || !after.present) return latex ? "--" : "–";
  std::string out =
      fmt::format(latex ? "${:.{}f} \\pm {:.{}f} \\rightarrow {:.{}f} \\pm {:.{}f}$"
                        : "{:.{}f} ± {:.{}f} → {:.{}f} ± {:.{}f}",
                  before.mean, precision, before.std, precision, after.mean, precision, after.std, precision);
  if (after.seeds != column_seeds) out += fmt::format(" (n={})", after.seeds);
  return out;
}

}  // namespace

std::string pair_markdown(const PaperTable& before, const PaperTable& after) {
  check_pair(before, after);
  std::string out = "| " + after.corner + " |", rule = "|---|";
  for (const auto& column : after.columns) {
    out += " " + column + " |";
    rule += "---:|";
  }
  out += "\n" + rule + "\n";
  for (std::size_t i = 0; i < after.rows.size(); ++i) {
    const auto& row = after.rows[i];
    out += "| " + (row.kind == TableRow::Kind::Task ? row.label : "**" + row.label + "**") + " |";
    for (std::size_t j = 0; j < row.cells.size(); ++j)
      out += " " +
             pair_cell(before.rows[i].cells[j], row.cells[j], after.column_seeds[j], after.precision, false) +
             " |";
    out += "\n";
  }
  out += "| seeds |";
  for (std::size_t n : after.column_seeds) out += fmt::format(" {} |", n);
  return out + "\n";
}

std::string pair_latex(const PaperTable& before, const PaperTable& after) {
  check_pair(before, after);
  std::string out = "\\begin{tabular}{l" + std::string(after.columns.size(), 'r') + "}\n\\toprule\n" +
                    latex_escape(after.corner);
  for (const auto& column : after.columns) out += " & " + latex_escape(column);
  out += " \\\\\n\\midrule\n";
  for (std::size_t i = 0; i < after.rows.size(); ++i) {
    const auto& row = after.rows[i];
    if (row.kind != TableRow::Kind::Task) out += "\\midrule\n";
    out += latex_escape(row.label);
    for (std::size_t j = 0; j < row.cells.size(); ++j)
      out += " & " +
             pair_cell(before.rows[i].cells[j], row.cells[j], after.column_seeds[j], after.precision, true);
    out += " \\\\\n";
  }
  out += "\\midrule\nseeds";
  for (std::size_t n : after.column_seeds) out += fmt::format(" & {}", n);
  return out + " \\\\\n\\bottomrule\n\\end{tabular}\n";
}

std::string pair_csv(const PaperTable& before, const PaperTable& after) {
  check_pair(before, after);
  std::string out = "row,kind,column,seeds,offline_mean,offline_std,online_mean,online_std\n";
  for (std::size_t i = 0; i < after.rows.size(); ++i) {
    const auto& row = after.rows[i];
    const char* kind = row.kind == TableRow::Kind::Task ? "task" : "category";
    for (std::size_t j = 0; j < row.cells.size(); ++j) {
      const TableCell &b = before.rows[i].cells[j], &a = row.cells[j];
      if (!a.present || !b.present) continue;
      out += fmt::format("{},{},{},{},{},{},{},{}\n", csv_field(row.label), kind, csv_field(after.columns[j]),
                         a.seeds, b.mean, b.std, a.mean, a.std);
    }
  }
  return out;
}

int CsvTable::column(const std::string& name) const {
  const auto it = std::find(header.begin(), header.end(), name);
  return it == header.end() ? -1 : static_cast<int>(it - header.begin());
}

CsvTable read_csv(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw DataError(path + ": cannot be read");
  CsvTable table;
  std::string line;
  if (!std::getline(in, line)) throw DataError(path + ": empty file (expected a header line)");
  table.header = split(line, ',');
  for (int number = 2; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    auto cells = split(line, ',');
    if (cells.size() != table.header.size())
      throw DataError(
          fmt::format("{}:{}: {} cells, the header has {}", path, number, cells.size(), table.header.size()));
    table.rows.push_back(std::move(cells));
  }
  return table;
}

}  // namespace dipole::report
