#include "elf_check.hpp"

#include <dlfcn.h>
#include <elf.h>
#include <fmt/format.h>

#include <cstring>
#include <fstream>
#include <optional>
#include <vector>

#include "dipole/errors.hpp"

namespace dipole::detail {

namespace {

#if defined(__x86_64__)
constexpr int kMachine = EM_X86_64;
#elif defined(__aarch64__)
constexpr int kMachine = EM_AARCH64;
#else
constexpr int kMachine = -1;  // not checked
#endif

class ElfFile {
 public:
  explicit ElfFile(const std::string& path) : path_(path), in_(path, std::ios::binary) {
    if (!in_) fail("cannot be opened");
    in_.seekg(0, std::ios::end);
    size_ = static_cast<std::uint64_t>(in_.tellg());
  }

  [[noreturn]] void fail(const std::string& problem) const {
    throw PluginError(fmt::format("cannot load plugin library '{}': {}", path_, problem));
  }
  [[noreturn]] void truncated(const std::string& what, std::uint64_t end) const {
    fail(
        fmt::format("the file is truncated or damaged: its {} end at byte {}, but the file has {} bytes "
                    "(an interrupted copy? reinstall or rebuild it)",
                    what, end, size_));
  }

  std::uint64_t size() const { return size_; }

  /// `count` records of `entry_size` bytes at `offset`, checked to lie inside the file.
  std::vector<char> read(std::uint64_t offset, std::uint64_t count, std::uint64_t entry_size,
                         const std::string& what) {
    std::uint64_t bytes = 0, end = 0;
    if (__builtin_mul_overflow(count, entry_size, &bytes) || __builtin_add_overflow(offset, bytes, &end) ||
        end > size_)
      truncated(what, end > 0 ? end : ~0ULL);
    std::vector<char> out(bytes);
    in_.seekg(static_cast<std::streamoff>(offset));
    if (bytes > 0 && !in_.read(out.data(), static_cast<std::streamsize>(bytes))) fail("read error");
    return out;
  }

 private:
  std::string path_;
  std::ifstream in_;
  std::uint64_t size_ = 0;
};

const char* sanitizer_of(const char* symbol) {
  const struct {
    const char* prefix;
    const char* name;
  } known[] = {{"__asan_", "AddressSanitizer"},
               {"__hwasan_", "HWAddressSanitizer"},
               {"__tsan_", "ThreadSanitizer"},
               {"__msan_", "MemorySanitizer"},
               {"__ubsan_", "UndefinedBehaviorSanitizer"}};
  for (const auto& k : known)
    if (std::strncmp(symbol, k.prefix, std::strlen(k.prefix)) == 0) return k.name;
  return nullptr;
}

}  // namespace

void check_elf_library(const std::string& path) {
  ElfFile file(path);
  if (file.size() < sizeof(Elf64_Ehdr)) file.truncated("ELF header would", sizeof(Elf64_Ehdr));
  const std::vector<char> head = file.read(0, 1, sizeof(Elf64_Ehdr), "ELF header would");
  Elf64_Ehdr eh;
  std::memcpy(&eh, head.data(), sizeof eh);
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) file.fail("not an ELF file (no \\x7fELF magic)");
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
    file.fail("not a 64-bit little-endian ELF file, as this dipole is");
  if (eh.e_type != ET_DYN) file.fail("not a shared library (ELF type is not ET_DYN)");
  if (kMachine >= 0 && eh.e_machine != kMachine)
    file.fail(fmt::format("built for another processor (ELF machine {}, this dipole's is {})", eh.e_machine,
                          kMachine));
  if (eh.e_phentsize != sizeof(Elf64_Phdr)) file.fail("unexpected program header size");

  const std::vector<char> ph = file.read(eh.e_phoff, eh.e_phnum, sizeof(Elf64_Phdr), "program headers would");
  for (std::uint16_t i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr p;
    std::memcpy(&p, ph.data() + i * sizeof p, sizeof p);
    std::uint64_t end = 0;
    if (p.p_type == PT_LOAD && (__builtin_add_overflow(p.p_offset, p.p_filesz, &end) || end > file.size()))
      file.truncated(fmt::format("loadable segment {} would", i), end);
  }

  if (eh.e_shoff == 0 || eh.e_shnum == 0) return;  // stripped of section headers: nothing more to check
  if (eh.e_shentsize != sizeof(Elf64_Shdr)) file.fail("unexpected section header size");
  const std::vector<char> sh = file.read(eh.e_shoff, eh.e_shnum, sizeof(Elf64_Shdr), "section headers would");
  auto section = [&](std::uint32_t i) {
    Elf64_Shdr s;
    std::memcpy(&s, sh.data() + static_cast<std::size_t>(i) * sizeof s, sizeof s);
    return s;
  };
  for (std::uint16_t i = 0; i < eh.e_shnum; ++i) {
    const Elf64_Shdr s = section(i);
    std::uint64_t end = 0;
    if (s.sh_type != SHT_NOBITS &&
        (__builtin_add_overflow(s.sh_offset, s.sh_size, &end) || end > file.size()))
      file.truncated(fmt::format("section {} would", i), end);
  }

  // Sanitizer runtimes: undefined symbols of the dynamic symbol table that this process lacks.
  for (std::uint16_t i = 0; i < eh.e_shnum; ++i) {
    const Elf64_Shdr s = section(i);
    if (s.sh_type != SHT_DYNSYM || s.sh_entsize != sizeof(Elf64_Sym) || s.sh_link >= eh.e_shnum) continue;
    const Elf64_Shdr strtab = section(s.sh_link);
    const std::vector<char> symbols =
        file.read(s.sh_offset, s.sh_size / sizeof(Elf64_Sym), sizeof(Elf64_Sym), "dynamic symbols would");
    std::vector<char> names = file.read(strtab.sh_offset, strtab.sh_size, 1, "symbol names would");
    names.push_back('\0');
    for (std::size_t k = 0; k < symbols.size() / sizeof(Elf64_Sym); ++k) {
      Elf64_Sym sym;
      std::memcpy(&sym, symbols.data() + k * sizeof sym, sizeof sym);
      if (sym.st_shndx != SHN_UNDEF || sym.st_name >= names.size()) continue;
      const char* name = names.data() + sym.st_name;
      const char* sanitizer = sanitizer_of(name);
      if (sanitizer != nullptr && ::dlsym(RTLD_DEFAULT, name) == nullptr)
        file.fail(
            fmt::format("it was built with {} (it needs the runtime symbol '{}'), but this dipole was "
                        "not; rebuild the plugin without -fsanitize, or use a dipole built with "
                        "-DDIPOLE_SANITIZE=ON",
                        sanitizer, name));
    }
  }
}

}  // namespace dipole::detail
