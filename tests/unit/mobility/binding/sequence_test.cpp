#include <gtest/gtest.h>

#include "mobility/core/binding/sequence.hpp"

namespace nemokey::mobility::binding {
namespace {

TEST(Sequence, GreaterWithinHalfTheSpace) {
    EXPECT_TRUE(sequence_greater(1, 0));
    EXPECT_TRUE(sequence_greater(100 + 32768, 100));      // the far edge is still greater
    EXPECT_FALSE(sequence_greater(100 + 32769, 100));     // one further is "less"
    EXPECT_FALSE(sequence_greater(100, 100));             // equal is not greater
    EXPECT_FALSE(sequence_greater(99, 100));
}

TEST(Sequence, WrapsAt65535) {
    EXPECT_TRUE(sequence_greater(0, 65535));
    EXPECT_TRUE(sequence_greater(5, 65530));
    EXPECT_FALSE(sequence_greater(65535, 0));
    EXPECT_EQ(sequence_next(65535), 0);
    EXPECT_EQ(sequence_next(7), 8);
    EXPECT_TRUE(sequence_less_or_equal(65535, 3));
}

TEST(Sequence, RangeAcrossWrap) {
    EXPECT_TRUE(sequence_in_range(65535, 65534, 1));
    EXPECT_TRUE(sequence_in_range(0, 65534, 1));
    EXPECT_TRUE(sequence_in_range(1, 65534, 1));
    EXPECT_FALSE(sequence_in_range(2, 65534, 1));
    EXPECT_FALSE(sequence_in_range(65533, 65534, 1));
    EXPECT_TRUE(sequence_in_range(5, 5, 5));
}

}  // namespace
}  // namespace nemokey::mobility::binding
