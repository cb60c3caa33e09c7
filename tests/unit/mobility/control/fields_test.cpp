// The field tables and their text renderers: aligned columns under the
// labels, values per format, key: value listings, events on one line; and
// the tables' keys are kebab case and unique (they are the JSON keys).
#include "mobility/daemon/control/fields.hpp"

#include <gtest/gtest.h>

#include <set>

#include "mobility/daemon/control/envelope.hpp"

namespace nemokey::mobility::control {
namespace {

using nlohmann::json;

void expect_good_table(std::span<const Field> fields) {
    std::set<std::string_view> keys;
    for (const Field& f : fields) {
        EXPECT_TRUE(is_kebab_case(f.key)) << f.key;
        EXPECT_TRUE(keys.insert(f.key).second) << "twice: " << f.key;
        EXPECT_FALSE(f.label.empty()) << f.key;
    }
}

TEST(Fields, TablesHaveKebabCaseUniqueKeys) {
    expect_good_table(binding_cache_fields);
    expect_good_table(binding_update_list_fields);
    expect_good_table(status_fields);
}

TEST(Fields, ValuesPerFormat) {
    EXPECT_EQ(render_value(json(nullptr), FieldFormat::plain), "-");
    EXPECT_EQ(render_value("2001:db8::1", FieldFormat::plain), "2001:db8::1");
    EXPECT_EQ(render_value(42, FieldFormat::plain), "42");
    EXPECT_EQ(render_value(json::array({"R", "K"}), FieldFormat::plain), "R,K");
    EXPECT_EQ(render_value(json::array(), FieldFormat::plain), "-");
    EXPECT_EQ(render_value(true, FieldFormat::yes_no), "yes");
    EXPECT_EQ(render_value(false, FieldFormat::yes_no), "no");
    EXPECT_EQ(render_value(true, FieldFormat::plain), "true");
    EXPECT_EQ(render_value(0, FieldFormat::duration), "0s");
    EXPECT_EQ(render_value(45, FieldFormat::duration), "45s");
    EXPECT_EQ(render_value(420, FieldFormat::duration), "7m00s");
    EXPECT_EQ(render_value(7505, FieldFormat::duration), "2h05m05s");
    EXPECT_EQ(render_value(273600, FieldFormat::duration), "3d04h00m00s");
    EXPECT_EQ(render_value(-3, FieldFormat::duration), "-3s");
    EXPECT_EQ(render_value("soon", FieldFormat::duration), "soon");
    EXPECT_EQ(render_value(json{{"a", 1}}, FieldFormat::plain), R"({"a":1})");
}

TEST(Fields, TableAlignsColumnsUnderTheLabels) {
    json rows = json::array({
        {{"home-address", "2001:db8:1::100"}, {"care-of-address", "2001:db8:a::5"}, {"binding-id", 1},
         {"lifetime-remaining", 420}, {"flags", {"R", "K"}}, {"prefixes", {"2001:db8:100::/48"}}, {"sequence", 7}},
        {{"home-address", "2001:db8:1::2"}, {"care-of-address", "2001:db8:bbbb::77"}, {"binding-id", 12},
         {"lifetime-remaining", 5}, {"flags", json::array()}, {"sequence", 65535}, {"extra", "not shown"}},
    });
    EXPECT_EQ(render_table(rows, binding_cache_fields),
              "Home address     Care-of address    BID  Lifetime  Flags  Prefixes           Seq\n"
              "2001:db8:1::100  2001:db8:a::5      1    7m00s     R,K    2001:db8:100::/48  7\n"
              "2001:db8:1::2    2001:db8:bbbb::77  12   5s        -      -                  65535\n");
}

TEST(Fields, TableOfNothingIsTheHeader) {
    EXPECT_EQ(render_table(json::array(), binding_update_list_fields),
              "Home address  Home agent  Care-of address  BID  State  Lifetime  K\n");
    EXPECT_EQ(render_table(json("not rows"), binding_update_list_fields),
              render_table(json::array(), binding_update_list_fields));
}

TEST(Fields, BindingUpdateListRow) {
    json rows = json::array({{{"home-address", "2001:db8:1::10"}, {"home-agent", "2001:db8:1::1"},
                              {"care-of-address", "2001:db8:a::10"}, {"binding-id", 2}, {"state", "bound"},
                              {"lifetime-remaining", 61}, {"k-granted", true}}});
    EXPECT_EQ(render_table(rows, binding_update_list_fields),
              "Home address    Home agent     Care-of address  BID  State  Lifetime  K\n"
              "2001:db8:1::10  2001:db8:1::1  2001:db8:a::10   2    bound  1m01s     yes\n");
}

TEST(Fields, ObjectListsTheTablesKeysInOrder) {
    json status{{"uptime", 3725}, {"role", "mobile-router"}, {"bindings", 2}, {"unknown", 1}};
    EXPECT_EQ(render_object(status, status_fields),
              "Role:      mobile-router\n"
              "Uptime:    1h02m05s\n"
              "Bindings:  2\n");
    EXPECT_EQ(render_object(json::array(), status_fields), "");
}

TEST(Fields, TreeIndentsNestedObjects) {
    json counters{{"mh", {{"bu-received", 10}, {"ba-sent", 9}}}, {"control", {{"accepted", 3}}}, {"uptime", 5}};
    EXPECT_EQ(render_tree(counters),
              "control:\n"
              "  accepted: 3\n"
              "mh:\n"
              "  ba-sent: 9\n"
              "  bu-received: 10\n"
              "uptime: 5\n");
    EXPECT_EQ(render_tree(json(7)), "7\n");
}

TEST(Fields, EventOnOneLine) {
    json e{{"time", "2024-01-01T00:00:00.000Z"}, {"kind", "binding-added"}, {"home-address", "2001:db8:1::100"},
           {"lifetime", 420}, {"note", "two words"}, {"flags", {"R", "K"}}};
    EXPECT_EQ(render_event(e),
              "2024-01-01T00:00:00.000Z binding-added flags=[\"R\",\"K\"] home-address=2001:db8:1::100 "
              "lifetime=420 note=\"two words\"");
    EXPECT_EQ(render_event(json{{"n", 1}}), "- - n=1");
    EXPECT_EQ(render_event(json("x")), "\"x\"");
}

}  // namespace
}  // namespace nemokey::mobility::control
