#include "dipole/core/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
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
      cells.push_back(Cell{s.row, s.column, {}, {}, 0, 0});
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
