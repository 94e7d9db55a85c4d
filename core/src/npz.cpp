// .npz archives (a zip of "<key>.npy" members) through libzip. numpy writes them with Python's
// zipfile: stored or deflated, possibly with data descriptors and ZIP64 extra fields; libzip reads
// all of these and verifies each member's CRC.
#include "dipole/sdk/npz.hpp"

#include <dipole/errors.hpp>

#include <zip.h>

#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace dipole::npz {

namespace {

constexpr const char kSuffix[] = ".npy";
constexpr std::size_t kSuffixSize = 4;

[[noreturn]] void fail(const std::string& what, const std::string& problem) {
  throw DataError(what + ": " + problem);
}

std::string member_what(const std::string& path, const std::string& member) {
  return path + " (member '" + member + "')";
}

/// What a libzip error means for an npz file, followed by libzip's own wording.
std::string describe(zip_error_t* error, bool reading = true) {
  const std::string text = zip_error_strerror(error);
  switch (zip_error_code_zip(error)) {
    case ZIP_ER_NOENT:
      return "the file does not exist";
    case ZIP_ER_NOZIP:
      return "not a zip archive (no end-of-central-directory record: the file is truncated or is not an "
             "npz file)";
    case ZIP_ER_INCONS:
      return "inconsistent zip archive: the file is truncated or corrupt (" + text + ")";
    case ZIP_ER_EOF:
      return "premature end of file: the archive is truncated (" + text + ")";
    case ZIP_ER_CRC:
      return "CRC error: the member's data does not match its checksum, the file is corrupt";
    case ZIP_ER_ZLIB:
    case ZIP_ER_COMPRESSED_DATA:
      return "corrupt deflate data (" + text + ")";
    case ZIP_ER_COMPNOTSUPP:
      return "unsupported compression method (expected stored or deflate)";
    case ZIP_ER_ENCRNOTSUPP:
    case ZIP_ER_NOPASSWD:
      return "encrypted members are not supported";
    default:
      return reading ? "cannot read it as a zip archive: " + text : text;
  }
}

std::string describe_code(int code) {
  zip_error_t error;
  zip_error_init_with_code(&error, code);
  std::string text = describe(&error, false);
  zip_error_fini(&error);
  return text;
}

struct ZipDiscard {
  void operator()(zip_t* archive) const { zip_discard(archive); }
};
using ZipArchive = std::unique_ptr<zip_t, ZipDiscard>;

struct ZipFileClose {
  void operator()(zip_file_t* file) const { zip_fclose(file); }
};

ZipArchive open_for_reading(const std::string& path) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_file_create(path.c_str(), 0, -1, &error);
  zip_t* archive = source ? zip_open_from_source(source, ZIP_RDONLY, &error) : nullptr;
  if (!archive) {
    if (source) zip_source_free(source);
    const std::string problem = describe(&error);
    zip_error_fini(&error);
    fail(path, problem);
  }
  zip_error_fini(&error);
  return ZipArchive(archive);
}

struct Member {
  std::string key;
  zip_uint64_t index;
};

std::vector<Member> npy_members(zip_t* archive, const std::string& path) {
  const zip_int64_t count = zip_get_num_entries(archive, 0);
  if (count < 0) fail(path, std::string("cannot list the members: ") + zip_strerror(archive));
  std::vector<Member> members;
  for (zip_int64_t i = 0; i < count; ++i) {
    const char* name = zip_get_name(archive, static_cast<zip_uint64_t>(i), 0);
    if (!name) fail(path, std::string("cannot read a member name: ") + zip_strerror(archive));
    const std::string member = name;
    if (member.size() >= kSuffixSize &&
        member.compare(member.size() - kSuffixSize, kSuffixSize, kSuffix) == 0)
      members.push_back({member.substr(0, member.size() - kSuffixSize), static_cast<zip_uint64_t>(i)});
  }
  return members;
}

/// Deflate expands at most 1032:1 (RFC 1951: a 258-byte match per 2 bits at best, rounded up).
constexpr zip_uint64_t kMaxDeflateRatio = 1032;

/// Decompresses one member completely; libzip checks the CRC when the end of the data is reached.
/// The sizes the zip directory claims are checked against the archive's real size before anything is
/// allocated: a stored member is as long as its compressed data, a deflated one at most 1032 times.
std::vector<std::uint8_t> read_member(zip_t* archive, zip_uint64_t index, const std::string& what,
                                      std::uint64_t file_size) {
  zip_stat_t stat;
  zip_stat_init(&stat);
  if (zip_stat_index(archive, index, 0, &stat) != 0 || !(stat.valid & ZIP_STAT_SIZE))
    fail(what, std::string("cannot stat the member: ") + zip_strerror(archive));
  if ((stat.valid & ZIP_STAT_COMP_SIZE) && (stat.valid & ZIP_STAT_COMP_METHOD)) {
    if (stat.comp_size > file_size)
      fail(what, "the zip directory claims " + std::to_string(stat.comp_size) +
                     " compressed bytes, more than the whole file's " + std::to_string(file_size) +
                     " (the file is truncated or corrupt)");
    const zip_uint64_t bound =
        stat.comp_method == ZIP_CM_STORE ? stat.comp_size : stat.comp_size * kMaxDeflateRatio + 1024;
    if (stat.size > bound)
      fail(what, "the zip directory claims " + std::to_string(stat.size) + " bytes for a member of " +
                     std::to_string(stat.comp_size) + " compressed bytes, more than " +
                     (stat.comp_method == ZIP_CM_STORE ? std::string("a stored member can hold")
                                                       : "deflate can expand to (1032:1)") +
                     " (the file is corrupt)");
  }
  std::unique_ptr<zip_file_t, ZipFileClose> file(zip_fopen_index(archive, index, 0));
  if (!file) fail(what, "cannot open the member: " + describe(zip_get_error(archive)));

  std::vector<std::uint8_t> bytes;
  try {
    bytes.resize(stat.size);
  } catch (const std::exception&) {
    fail(what, "the member claims " + std::to_string(stat.size) + " bytes, more than can be allocated");
  }
  std::size_t got = 0;
  while (true) {
    // The last read asks for one byte past the declared size: it must hit the end (which makes
    // libzip verify the CRC) rather than return more data.
    std::uint8_t spare = 0;
    const bool at_end = got == bytes.size();
    const zip_int64_t n = at_end ? zip_fread(file.get(), &spare, 1)
                                 : zip_fread(file.get(), bytes.data() + got, bytes.size() - got);
    if (n < 0) fail(what, describe(zip_file_get_error(file.get())));
    if (n == 0) break;
    if (at_end) fail(what, "the member holds more data than its declared size " + std::to_string(stat.size));
    got += static_cast<std::size_t>(n);
  }
  if (got != bytes.size())
    fail(what, "truncated member: " + std::to_string(got) + " of " + std::to_string(bytes.size()) +
                   " bytes could be read");
  return bytes;
}

std::uint64_t size_of(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  return ec ? std::numeric_limits<std::uint64_t>::max() : static_cast<std::uint64_t>(size);
}

Array read_array(zip_t* archive, const Member& member, const std::string& path) {
  const std::string what = member_what(path, member.key + kSuffix);
  return detail::parse_npy(read_member(archive, member.index, what, size_of(path)), what);
}

}  // namespace

std::vector<std::string> list_npz(const std::string& path) {
  const ZipArchive archive = open_for_reading(path);
  std::vector<std::string> keys;
  for (Member& member : npy_members(archive.get(), path)) keys.push_back(std::move(member.key));
  return keys;
}

std::map<std::string, Array> read_npz(const std::string& path) {
  const ZipArchive archive = open_for_reading(path);
  std::map<std::string, Array> arrays;
  for (const Member& member : npy_members(archive.get(), path))
    arrays.emplace(member.key, read_array(archive.get(), member, path));
  return arrays;
}

Array read_npz_member(const std::string& path, const std::string& key) {
  const ZipArchive archive = open_for_reading(path);
  const std::vector<Member> members = npy_members(archive.get(), path);
  for (const Member& member : members)
    if (member.key == key) return read_array(archive.get(), member, path);
  std::string available;
  for (const Member& member : members) available += (available.empty() ? "'" : ", '") + member.key + "'";
  fail(path, "no member '" + key + kSuffix + "' (key '" + key + "'); available keys: " +
                 (available.empty() ? "none (the archive holds no .npy members)" : available));
}

namespace {

void write_members(const std::string& path, const std::vector<std::pair<std::string, const Array*>>& arrays,
                   bool compressed) {
  // Serialise everything first: a bad array throws before any file is created.
  std::vector<std::pair<std::string, std::vector<std::uint8_t>>> members;
  members.reserve(arrays.size());
  for (const auto& [key, array] : arrays) {
    const std::string name = key + kSuffix;
    try {
      members.emplace_back(name, serialize_npy(*array));
    } catch (const DataError& error) {
      fail(member_what(path, name), error.what());
    }
  }

  if (members.empty()) {
    // libzip writes no file for an archive without entries; numpy.savez writes the bare end record.
    const std::uint8_t end_record[22] = {0x50, 0x4b, 0x05, 0x06};
    detail::write_file_atomic(path, end_record, sizeof end_record);
    return;
  }

  const std::string temp = detail::temp_path(path);
  int code = 0;
  ZipArchive archive(zip_open(temp.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &code));
  if (!archive) fail(path, "cannot write: creating '" + temp + "' failed: " + describe_code(code));
  for (const auto& [name, bytes] : members) {
    // The buffers outlive the archive: libzip reads them only in zip_close.
    zip_source_t* source = zip_source_buffer(archive.get(), bytes.data(), bytes.size(), 0);
    if (!source) fail(path, "cannot write member '" + name + "': " + zip_strerror(archive.get()));
    const zip_int64_t index = zip_file_add(archive.get(), name.c_str(), source, ZIP_FL_ENC_UTF_8);
    if (index < 0) {
      zip_source_free(source);
      fail(path, "cannot write member '" + name + "': " + zip_strerror(archive.get()));
    }
    if (zip_set_file_compression(archive.get(), static_cast<zip_uint64_t>(index),
                                 compressed ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0) != 0)
      fail(path, "cannot write member '" + name + "': " + zip_strerror(archive.get()));
    // A fixed member time (1980-01-01 00:00, the first DOS date) instead of "now": the same arrays
    // give the same bytes, so written datasets and checkpoints can be compared byte for byte.
    if (zip_file_set_dostime(archive.get(), static_cast<zip_uint64_t>(index), 0, (1 << 5) | 1, 0) != 0)
      fail(path, "cannot write member '" + name + "': " + zip_strerror(archive.get()));
  }
  if (zip_close(archive.get()) != 0) {
    const std::string problem = describe(zip_get_error(archive.get()), false);
    archive.reset();  // zip_discard; libzip removes its own temporary file
    std::remove(temp.c_str());
    fail(path, "cannot write: " + problem);
  }
  archive.release();  // zip_close freed it
  detail::commit_temp(temp, path);
}

}  // namespace

void write_npz(const std::string& path, const std::map<std::string, Array>& arrays, bool compressed) {
  std::vector<std::pair<std::string, const Array*>> ordered;
  ordered.reserve(arrays.size());
  for (const auto& [key, array] : arrays) ordered.emplace_back(key, &array);
  write_members(path, ordered, compressed);
}

void write_npz_ordered(const std::string& path, const std::vector<std::pair<std::string, Array>>& arrays,
                       bool compressed) {
  std::vector<std::pair<std::string, const Array*>> ordered;
  ordered.reserve(arrays.size());
  for (const auto& [key, array] : arrays) {
    for (const auto& member : ordered)
      if (member.first == key) fail(path, "cannot write: key '" + key + "' given twice");
    ordered.emplace_back(key, &array);
  }
  write_members(path, ordered, compressed);
}

}  // namespace dipole::npz
