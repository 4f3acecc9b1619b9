// Datasets: image folders, Food-101 layout, IDX (plain and gzip), dedup and class filters,
// stratified splits and folds, and clear errors for malformed input.
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "train/dataset.h"
#include "train/test-helpers.h"

namespace morsel::train {
namespace {

namespace fs = std::filesystem;

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

void be32(std::vector<uint8_t>* v, uint32_t x) {
  for (int s = 24; s >= 0; s -= 8) v->push_back(static_cast<uint8_t>(x >> s));
}

// Writes an IDX image/label pair of `n` 3x2 images with labels i % 3 (gzip when gz).
void write_idx(const std::string& dir, const std::string& prefix, int n, bool gz) {
  std::vector<uint8_t> img, lab;
  be32(&img, 0x803);
  be32(&img, static_cast<uint32_t>(n));
  be32(&img, 3);
  be32(&img, 2);
  be32(&lab, 0x801);
  be32(&lab, static_cast<uint32_t>(n));
  for (int i = 0; i < n; i++) {
    for (int p = 0; p < 6; p++) img.push_back(static_cast<uint8_t>(i * 10 + p));
    lab.push_back(static_cast<uint8_t>(i % 3));
  }
  auto put = [&](const std::string& name, const std::vector<uint8_t>& bytes) {
    if (gz) {
      gzFile f = gzopen((dir + "/" + name + ".gz").c_str(), "wb");
      gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
      gzclose(f);
    } else {
      std::ofstream(dir + "/" + name, std::ios::binary)
          .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    }
  };
  put(prefix + "-images-idx3-ubyte", img);
  put(prefix + "-labels-idx1-ubyte", lab);
}

TEST(DatasetTest, ImageFolderListsClassesInOrder) {
  const std::string root = test::train_tmp("folder");
  for (const char* c : {"zebra", "apple", "empty"}) fs::create_directories(root + "/" + c);
  ASSERT_TRUE(image_write_png(root + "/zebra/1.png", test::class_image(0, 8, 8, 1)).ok());
  ASSERT_TRUE(image_write_png(root + "/zebra/2.PNG", test::class_image(0, 8, 8, 2)).ok());
  ASSERT_TRUE(image_write_png(root + "/apple/1.png", test::class_image(1, 8, 8, 3)).ok());
  write_text(root + "/apple/notes.txt", "not an image");
  auto d = load_dataset(root, {});
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->format, DatasetFormat::FOLDER);
  EXPECT_EQ(d->classes, (std::vector<std::string>{"apple", "zebra"}));  // "empty" has no images
  ASSERT_EQ(d->samples.size(), 3u);
  EXPECT_EQ(d->class_counts(), (std::vector<int64_t>{1, 2}));
  auto img = d->load(0);
  ASSERT_TRUE(img.ok());
  EXPECT_EQ(img->width, 8);
}

TEST(DatasetTest, DedupAndClassFilters) {
  const std::string root = test::train_tmp("dedup");
  for (const char* c : {"a", "b", "c"}) fs::create_directories(root + "/" + c);
  const Image same = test::class_image(0, 8, 8, 1);
  for (int i = 0; i < 3; i++) ASSERT_TRUE(image_write_png(root + "/a/" + std::to_string(i) + ".png", same).ok());
  for (int i = 0; i < 3; i++)
    ASSERT_TRUE(image_write_png(root + "/b/" + std::to_string(i) + ".png", test::class_image(1, 8, 8, 10 + i)).ok());
  for (int i = 0; i < 4; i++)
    ASSERT_TRUE(image_write_png(root + "/c/" + std::to_string(i) + ".png", test::class_image(2, 8, 8, 20 + i)).ok());
  DatasetOptions o;
  o.dedup = true;
  auto d = load_dataset(root, o);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->class_counts(), (std::vector<int64_t>{1, 3, 4}));
  o.min_per_class = 2;
  d = load_dataset(root, o);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->classes, (std::vector<std::string>{"b", "c"}));
  for (const auto& s : d->samples) EXPECT_TRUE(s.label == 0 || s.label == 1);
  o.max_per_class = 2;
  d = load_dataset(root, o);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->class_counts(), (std::vector<int64_t>{2, 2}));
  o.min_per_class = 5;  // nothing left
  o.max_per_class = 0;
  d = load_dataset(root, o);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("at least 2"), std::string::npos);
}

TEST(DatasetTest, Food101Layout) {
  const std::string root = test::train_tmp("food101");
  fs::create_directories(root + "/meta");
  for (const char* c : {"pizza", "sushi"}) fs::create_directories(root + "/images/" + c);
  for (int i = 0; i < 3; i++) {
    ASSERT_TRUE(image_write_png(root + "/images/pizza/" + std::to_string(i) + ".jpg", test::class_image(0, 8, 8, i)).ok());
    ASSERT_TRUE(image_write_png(root + "/images/sushi/" + std::to_string(i) + ".jpg", test::class_image(1, 8, 8, i)).ok());
  }
  write_text(root + "/meta/classes.txt", "pizza\nsushi\n");
  write_text(root + "/meta/train.txt", "pizza/0\npizza/1\nsushi/0\nsushi/1\n");
  write_text(root + "/meta/test.txt", "pizza/2\r\nsushi/2\r\n");
  auto tr = load_dataset(root, {});
  ASSERT_TRUE(tr.ok()) << tr.status().message();
  EXPECT_EQ(tr->format, DatasetFormat::FOOD101);
  EXPECT_EQ(tr->samples.size(), 4u);
  DatasetOptions o;
  o.split = "test";
  auto te = load_dataset(root, o);
  ASSERT_TRUE(te.ok());
  ASSERT_EQ(te->samples.size(), 2u);
  EXPECT_EQ(te->samples[1].label, 1);
  EXPECT_TRUE(te->load(1).ok());  // PNG bytes behind a .jpg name: decoded by content
  write_text(root + "/meta/test.txt", "pizza/2\nramen/1\n");
  auto bad = load_dataset(root, o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line 2"), std::string::npos);
}

TEST(DatasetTest, IdxPlainAndGzip) {
  for (bool gz : {false, true}) {
    const std::string root = test::train_tmp(gz ? "idx_gz" : "idx");
    write_idx(root, "train", 7, gz);
    write_idx(root, "t10k", 4, gz);
    auto d = load_dataset(root, {});
    ASSERT_TRUE(d.ok()) << d.status().message();
    EXPECT_EQ(d->format, DatasetFormat::IDX);
    EXPECT_EQ(d->classes, (std::vector<std::string>{"0", "1", "2"}));
    ASSERT_EQ(d->samples.size(), 7u);
    EXPECT_EQ(d->samples[4].label, 1);
    auto img = d->load(4);
    ASSERT_TRUE(img.ok());
    EXPECT_EQ(img->width, 2);
    EXPECT_EQ(img->height, 3);
    // Pixel (x=1, y=2) of image 4 is byte 4*10 + 2*2 + 1, replicated to RGB.
    EXPECT_EQ(img->rgb[(2 * 2 + 1) * 3 + 0], 45);
    EXPECT_EQ(img->rgb[(2 * 2 + 1) * 3 + 2], 45);
    DatasetOptions o;
    o.split = "test";
    write_text(root + "/names.txt", "zero\none\ntwo\n");
    o.labels_file = root + "/names.txt";
    auto t = load_dataset(root, o);
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->samples.size(), 4u);
    EXPECT_EQ(t->classes[2], "two");
  }
}

TEST(DatasetTest, MalformedIdxIsAClearError) {
  const std::string root = test::train_tmp("idx_bad");
  write_idx(root, "train", 5, false);
  // Truncate the pixels.
  fs::resize_file(root + "/train-images-idx3-ubyte", 16 + 6 * 5 - 1);
  auto d = load_dataset(root, {});
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("pixel bytes"), std::string::npos) << d.status().message();
  // Wrong magic.
  write_text(root + "/train-images-idx3-ubyte", std::string("\0\0\x08\x01garbage-garbage", 20));
  d = load_dataset(root, {});
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("IDX3"), std::string::npos);
  // A corrupt gzip stream.
  const std::string gzroot = test::train_tmp("idx_badgz");
  write_idx(gzroot, "train", 5, true);
  auto bytes = read_file_bytes(gzroot + "/train-images-idx3-ubyte.gz");
  ASSERT_TRUE(bytes.ok());
  std::vector<uint8_t> cut(bytes->begin(), bytes->begin() + static_cast<long>(bytes->size() / 2));
  std::ofstream(gzroot + "/train-images-idx3-ubyte.gz", std::ios::binary)
      .write(reinterpret_cast<const char*>(cut.data()), static_cast<std::streamsize>(cut.size()));
  EXPECT_FALSE(load_dataset(gzroot, {}).ok());
  EXPECT_FALSE(load_dataset("/nonexistent/dir", {}).ok());
}

TEST(DatasetTest, LabelsFileMustMatch) {
  const std::string root = test::train_tmp("idx_labels");
  write_idx(root, "train", 6, false);
  write_text(root + "/two.txt", "a\nb\n");
  DatasetOptions o;
  o.labels_file = root + "/two.txt";
  auto d = load_dataset(root, o);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("2 names for 3 classes"), std::string::npos);
}

TEST(DatasetTest, StratifiedSplitKeepsClassProportions) {
  std::vector<int> labels;
  for (int c = 0; c < 3; c++)
    for (int i = 0; i < (c + 1) * 20; i++) labels.push_back(c);
  std::vector<size_t> a, b, a2, b2;
  stratified_split(labels, 0.25, 7, &a, &b);
  stratified_split(labels, 0.25, 7, &a2, &b2);
  EXPECT_EQ(b, b2);  // seeded
  EXPECT_EQ(a.size() + b.size(), labels.size());
  std::vector<int> per(3, 0);
  for (size_t i : b) per[static_cast<size_t>(labels[i])]++;
  EXPECT_EQ(per, (std::vector<int>{5, 10, 15}));
  std::set<size_t> all(a.begin(), a.end());
  for (size_t i : b) EXPECT_TRUE(all.insert(i).second);  // disjoint
  stratified_split(labels, 0.25, 8, &a2, &b2);
  EXPECT_NE(b, b2);
}

TEST(DatasetTest, StratifiedFoldsAreBalanced) {
  std::vector<int> labels;
  for (int c = 0; c < 4; c++)
    for (int i = 0; i < 14 + c * 3; i++) labels.push_back(c);
  const int k = 5;
  std::vector<int> fold = stratified_folds(labels, k, 3);
  ASSERT_EQ(fold.size(), labels.size());
  for (int c = 0; c < 4; c++) {
    std::vector<int> count(k, 0);
    for (size_t i = 0; i < labels.size(); i++)
      if (labels[i] == c) count[static_cast<size_t>(fold[i])]++;
    EXPECT_LE(*std::max_element(count.begin(), count.end()) - *std::min_element(count.begin(), count.end()), 1);
  }
  std::vector<int> total(k, 0);
  for (int f : fold) total[static_cast<size_t>(f)]++;
  EXPECT_LE(*std::max_element(total.begin(), total.end()) - *std::min_element(total.begin(), total.end()), 1);
}

}  // namespace
}  // namespace morsel::train
