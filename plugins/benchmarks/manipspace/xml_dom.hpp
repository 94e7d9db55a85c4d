// A small XML DOM for MJCF files: elements, attributes (in file order), comments and text; enough to
// read the OGBench model descriptions, edit them and write one flat MJCF (docs/ogbench.md,
// "Manipulation: scene model and physics"). No DTDs, no namespaces, no processing instructions beyond
// skipping `<?xml ...?>`.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace dipole::manipspace::xml {

struct Node {
  enum class Type { Element, Comment, Text };
  Type type = Type::Element;
  std::string name;  ///< tag for elements, content for comments and text (entities decoded)
  std::vector<std::pair<std::string, std::string>> attributes;  ///< file order, values decoded
  std::vector<std::unique_ptr<Node>> children;

  static std::unique_ptr<Node> element(std::string tag);

  /// Attribute value, or nullptr when absent.
  const std::string* attribute(const std::string& key) const;
  bool has(const std::string& key) const { return attribute(key) != nullptr; }
  /// Set (replace in place, or append) an attribute.
  void set(const std::string& key, std::string value);
  void erase(const std::string& key);

  /// First child element with this tag, or nullptr.
  Node* child(const std::string& tag) const;
  /// Every child element with this tag, in order.
  std::vector<Node*> children_named(const std::string& tag) const;
  /// Append a child and return it.
  Node* append(std::unique_ptr<Node> node);
  /// Deep copy.
  std::unique_ptr<Node> clone() const;
};

/// Parse a document; returns its root element. Throws dipole::DataError naming `where` (usually the
/// file path) and the line on malformed input.
std::unique_ptr<Node> parse(const std::string& text, const std::string& where);
/// Read and parse a file (DataError if unreadable).
std::unique_ptr<Node> parse_file(const std::string& path);

/// Serialise with two-space indentation; attribute values and text are escaped.
std::string serialize(const Node& root);

}  // namespace dipole::manipspace::xml
