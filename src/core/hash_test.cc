#include "core/hash.h"

#include <gtest/gtest.h>

namespace eragon {
namespace {

TEST(Hash, Sha256MatchesFips180Vectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Hash, Sha256PartsHashesTheConcatenationAndReusesItsContext) {
  unsigned char md[32];
  for (int round = 0; round < 2; ++round) {  // the second call reuses the thread's context
    Sha256Parts({"a", "", "bc"}, md);
    EXPECT_EQ(HexEncode(std::string_view(reinterpret_cast<char*>(md), 32)),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  }
  Sha256Parts({}, md);
  EXPECT_EQ(HexEncode(std::string_view(reinterpret_cast<char*>(md), 32)),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Hash, HmacSha256MatchesRfc4231Case2) {
  EXPECT_EQ(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Hash, Base64MatchesRfc4648Vectors) {
  const char* plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
  const char* coded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(Base64Encode(plain[i]), coded[i]);
    std::optional<std::string> back = Base64Decode(coded[i]);
    ASSERT_TRUE(back.has_value()) << coded[i];
    EXPECT_EQ(*back, plain[i]);
  }
}

TEST(Hash, Base64DecodeAcceptsMissingPaddingAndRejectsGarbage) {
  EXPECT_EQ(Base64Decode("Zg").value_or("?"), "f");
  EXPECT_EQ(Base64Decode("Zm8").value_or("?"), "fo");
  EXPECT_FALSE(Base64Decode("Z").has_value());
  EXPECT_FALSE(Base64Decode("Zm9v!").has_value());
  EXPECT_FALSE(Base64Decode("Zg=a").has_value());
  EXPECT_FALSE(Base64Decode("Z===").has_value());
  EXPECT_FALSE(Base64Decode("Zh==").has_value());  // non-zero trailing bits
  EXPECT_FALSE(Base64Decode("Zm9v\n").has_value());
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  EXPECT_EQ(Base64Decode(Base64Encode(bytes)).value_or(""), bytes);
}

TEST(Hash, HexRoundTrip) {
  EXPECT_EQ(HexEncode(std::string("\x00\xff\x10", 3)), "00ff10");
  EXPECT_EQ(HexDecode("00FF10").value_or(""), std::string("\x00\xff\x10", 3));
  EXPECT_FALSE(HexDecode("abc").has_value());
  EXPECT_FALSE(HexDecode("zz").has_value());
}

TEST(Hash, RandomBytesDiffer) {
  std::string a = RandomBytes(32), b = RandomBytes(32);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
  EXPECT_EQ(RandomBytes(0), "");
}

TEST(Hash, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
}

}  // namespace
}  // namespace eragon
