// Results tables over seeds, in the papers' format: one row per task (or dataset), one column per
// method, each cell "mean ± std" over the seeds that ran it. Used by `dipole report`; LibTorch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dipole::report {

/// The score of one run (one seed) of one method on one task.
struct RunScore {
  std::string row;     ///< e.g. "walker stand"
  std::string column;  ///< e.g. "dipole ω=1"
  std::string seed;    ///< the run's trainer.seed, as text (duplicates are an error)
  double value = 0;
};

/// All seeds of one (row, column) pair.
struct Cell {
  std::string row, column;
  std::vector<std::string> seeds;
  std::vector<double> values;  ///< in the order of `seeds`
  double mean = 0;
  double std = 0;  ///< population standard deviation (ddof = 0, NumPy's default); 0 for one seed
};

/// Groups scores by (row, column); rows and columns keep the order of first appearance. Throws
/// DataError naming the row, column and seed if one seed appears twice in a cell.
std::vector<Cell> aggregate(const std::vector<RunScore>& scores);

/// Markdown table: header "| <corner> | col1 | col2 ... |", one line per row, cells
/// "mean ± std" with `precision` decimals ("–" where a method has no run for that row).
std::string markdown_table(const std::vector<Cell>& cells, const std::string& corner, int precision);

/// CSV with one line per cell: row,column,seeds,mean,std,values (values ';'-separated).
std::string csv_table(const std::vector<Cell>& cells);

/// A CSV file as header + rows of strings (no quoting: Dipole's CSVs hold numbers and plain labels).
struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  /// Index of `name` in the header, or -1.
  int column(const std::string& name) const;
};
/// DataError naming the file if it cannot be read or a row has another number of cells.
CsvTable read_csv(const std::string& path);

}  // namespace dipole::report
