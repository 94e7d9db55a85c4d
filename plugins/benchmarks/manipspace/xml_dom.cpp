// XML DOM for MJCF (see xml_dom.hpp).
#include "xml_dom.hpp"

#include <dipole/errors.hpp>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

namespace dipole::manipspace::xml {

std::unique_ptr<Node> Node::element(std::string tag) {
  auto node = std::make_unique<Node>();
  node->type = Type::Element;
  node->name = std::move(tag);
  return node;
}

const std::string* Node::attribute(const std::string& key) const {
  for (const auto& [k, v] : attributes)
    if (k == key) return &v;
  return nullptr;
}

void Node::set(const std::string& key, std::string value) {
  for (auto& [k, v] : attributes)
    if (k == key) {
      v = std::move(value);
      return;
    }
  attributes.emplace_back(key, std::move(value));
}

void Node::erase(const std::string& key) {
  attributes.erase(std::remove_if(attributes.begin(), attributes.end(),
                                  [&key](const auto& kv) { return kv.first == key; }),
                   attributes.end());
}

Node* Node::child(const std::string& tag) const {
  for (const auto& c : children)
    if (c->type == Type::Element && c->name == tag) return c.get();
  return nullptr;
}

std::vector<Node*> Node::children_named(const std::string& tag) const {
  std::vector<Node*> out;
  for (const auto& c : children)
    if (c->type == Type::Element && c->name == tag) out.push_back(c.get());
  return out;
}

Node* Node::append(std::unique_ptr<Node> node) {
  children.push_back(std::move(node));
  return children.back().get();
}

std::unique_ptr<Node> Node::clone() const {
  auto copy = std::make_unique<Node>();
  copy->type = type;
  copy->name = name;
  copy->attributes = attributes;
  for (const auto& c : children) copy->children.push_back(c->clone());
  return copy;
}

namespace {

class Parser {
 public:
  Parser(const std::string& text, const std::string& where) : s_(text), where_(where) {}

  std::unique_ptr<Node> document() {
    std::unique_ptr<Node> root;
    while (true) {
      skip_space();
      if (at_end()) break;
      if (starts("<?")) {
        skip_past("?>");
      } else if (starts("<!--")) {
        skip_past("-->");  // comments outside the root are dropped
      } else if (starts("<!")) {
        skip_past(">");  // <!DOCTYPE ...>
      } else if (peek() == '<') {
        if (root) fail("a second root element");
        root = element();
      } else {
        fail("text outside the root element");
      }
    }
    if (!root) fail("no root element");
    return root;
  }

 private:
  std::unique_ptr<Node> element() {
    expect('<');
    auto node = Node::element(name());
    while (true) {
      skip_space();
      if (starts("/>")) {
        pos_ += 2;
        return node;
      }
      if (peek() == '>') {
        ++pos_;
        break;
      }
      std::string key = name();
      skip_space();
      expect('=');
      skip_space();
      const char quote = peek();
      if (quote != '"' && quote != '\'') fail("a quoted value for attribute '" + key + "'");
      ++pos_;
      const std::size_t end = s_.find(quote, pos_);
      if (end == std::string::npos) fail("the closing quote of attribute '" + key + "'");
      std::string value = decode(s_.substr(pos_, end - pos_));
      count_lines(pos_, end);
      pos_ = end + 1;
      if (node->has(key)) fail("attribute '" + key + "' only once in <" + node->name + ">");
      node->attributes.emplace_back(std::move(key), std::move(value));
    }
    // content
    while (true) {
      if (at_end()) fail("</" + node->name + ">");
      if (starts("</")) {
        pos_ += 2;
        const std::string closing = name();
        if (closing != node->name) fail("</" + node->name + ">, not </" + closing + ">");
        skip_space();
        expect('>');
        return node;
      }
      if (starts("<!--")) {
        const std::size_t start = pos_ + 4;
        const std::size_t end = s_.find("-->", start);
        if (end == std::string::npos) fail("the end of a comment (-->)");
        auto comment = std::make_unique<Node>();
        comment->type = Node::Type::Comment;
        comment->name = s_.substr(start, end - start);
        count_lines(pos_, end);
        pos_ = end + 3;
        node->append(std::move(comment));
      } else if (starts("<![CDATA[")) {
        const std::size_t start = pos_ + 9;
        const std::size_t end = s_.find("]]>", start);
        if (end == std::string::npos) fail("the end of a CDATA section");
        auto text = std::make_unique<Node>();
        text->type = Node::Type::Text;
        text->name = s_.substr(start, end - start);
        count_lines(pos_, end);
        pos_ = end + 3;
        node->append(std::move(text));
      } else if (peek() == '<') {
        node->append(element());
      } else {
        const std::size_t end = std::min(s_.find('<', pos_), s_.size());
        const std::string raw = s_.substr(pos_, end - pos_);
        count_lines(pos_, end);
        pos_ = end;
        if (std::any_of(raw.begin(), raw.end(),
                        [](char c) { return !std::isspace(static_cast<unsigned char>(c)); })) {
          auto text = std::make_unique<Node>();
          text->type = Node::Type::Text;
          text->name = decode(raw);
          node->append(std::move(text));
        }
      }
    }
  }

  std::string name() {
    const std::size_t start = pos_;
    while (!at_end()) {
      const char c = peek();
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == ':' || c == '.')
        ++pos_;
      else
        break;
    }
    if (pos_ == start) fail("a name");
    return s_.substr(start, pos_ - start);
  }

  std::string decode(const std::string& raw) {
    if (raw.find('&') == std::string::npos) return raw;
    std::string out;
    out.reserve(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] != '&') {
        out += raw[i];
        continue;
      }
      const std::size_t semi = raw.find(';', i);
      if (semi == std::string::npos) fail("';' after '&'");
      const std::string entity = raw.substr(i + 1, semi - i - 1);
      if (entity == "amp")
        out += '&';
      else if (entity == "lt")
        out += '<';
      else if (entity == "gt")
        out += '>';
      else if (entity == "quot")
        out += '"';
      else if (entity == "apos")
        out += '\'';
      else if (!entity.empty() && entity[0] == '#') {
        const long code = entity.size() > 1 && entity[1] == 'x' ? std::stol(entity.substr(2), nullptr, 16)
                                                                : std::stol(entity.substr(1));
        if (code < 0 || code > 127) fail("an ASCII character reference");
        out += static_cast<char>(code);
      } else {
        fail("a known entity, not &" + entity + ";");
      }
      i = semi;
    }
    return out;
  }

  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[pos_]; }
  bool starts(const char* prefix) const {
    return s_.compare(pos_, std::char_traits<char>::length(prefix), prefix) == 0;
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("'") + c + "'");
    ++pos_;
  }
  void skip_space() {
    while (!at_end() && std::isspace(static_cast<unsigned char>(peek()))) {
      if (peek() == '\n') ++line_;
      ++pos_;
    }
  }
  void skip_past(const char* token) {
    const std::size_t end = s_.find(token, pos_);
    if (end == std::string::npos) fail(std::string("'") + token + "'");
    count_lines(pos_, end);
    pos_ = end + std::char_traits<char>::length(token);
  }
  void count_lines(std::size_t from, std::size_t to) {
    line_ += static_cast<int>(std::count(s_.begin() + static_cast<std::ptrdiff_t>(from),
                                         s_.begin() + static_cast<std::ptrdiff_t>(to), '\n'));
  }
  [[noreturn]] void fail(const std::string& expected) const {
    throw DataError(where_ + ":" + std::to_string(line_) + ": malformed XML: expected " + expected);
  }

  const std::string& s_;
  const std::string& where_;
  std::size_t pos_ = 0;
  int line_ = 1;
};

std::string escape(const std::string& raw, bool attribute) {
  std::string out;
  out.reserve(raw.size());
  for (const char c : raw) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += attribute ? "&quot;" : "\"";
        break;
      default:
        out += c;
    }
  }
  return out;
}

/// `inline_content`: inside an element with text, write no indentation or newlines, so that text
/// round-trips exactly.
void write(const Node& node, int depth, bool inline_content, std::ostringstream& out) {
  const std::string indent = inline_content ? "" : std::string(static_cast<std::size_t>(2 * depth), ' ');
  const char* newline = inline_content ? "" : "\n";
  switch (node.type) {
    case Node::Type::Comment:
      out << indent << "<!--" << node.name << "-->" << newline;
      return;
    case Node::Type::Text:
      out << escape(node.name, false);
      return;
    case Node::Type::Element:
      break;
  }
  out << indent << '<' << node.name;
  for (const auto& [k, v] : node.attributes) out << ' ' << k << "=\"" << escape(v, true) << '"';
  if (node.children.empty()) {
    out << "/>" << newline;
    return;
  }
  const bool has_text = std::any_of(node.children.begin(), node.children.end(),
                                    [](const auto& c) { return c->type == Node::Type::Text; });
  out << '>' << (has_text ? "" : newline);
  for (const auto& c : node.children) write(*c, depth + 1, inline_content || has_text, out);
  out << (has_text ? "" : indent) << "</" << node.name << '>' << newline;
}

}  // namespace

std::unique_ptr<Node> parse(const std::string& text, const std::string& where) {
  return Parser(text, where).document();
}

std::unique_ptr<Node> parse_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path + ": cannot read the model file");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return parse(buffer.str(), path);
}

std::string serialize(const Node& root) {
  std::ostringstream out;
  write(root, 0, false, out);
  return out.str();
}

}  // namespace dipole::manipspace::xml
