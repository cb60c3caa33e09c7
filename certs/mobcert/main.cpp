// mobcert: the CA and node certificates of a nemokey deployment.
// Subcommands come from one static table (name, handler, options, help)
// that also builds the usage text; secrets come from files or stdin, never
// argv. Exit codes: 0 ok, 1 failure or denied, 2 usage, 3 nothing matched.
#include "certs/authz/authorize.hpp"
#include "certs/authz/files.hpp"
#include "certs/ca/authority.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace nemokey;
using namespace nemokey::certs;
namespace fs = std::filesystem;

constexpr int kOk = 0, kFailure = 1, kUsage = 2, kNoMatch = 3;

struct UsageError {
    std::string text;
};

struct Args {
    std::vector<std::string> positional;
    std::multimap<std::string, std::string> options;

    std::optional<std::string> get(const std::string& name) const {
        if (options.count(name) > 1) throw UsageError{"option '--" + name + "' given more than once"};
        auto it = options.find(name);
        if (it == options.end()) return std::nullopt;
        return it->second;
    }
    std::vector<std::string> all(const std::string& name) const {
        std::vector<std::string> out;
        auto [a, b] = options.equal_range(name);
        for (auto it = a; it != b; ++it) out.push_back(it->second);
        return out;
    }
};

const std::vector<std::string> kFlags = {"no-crl", "help"};

// "--name value" or "--name=value"; flags take no value.
Args parse_args(int argc, char** argv, int first, const std::vector<std::string>& known) {
    Args a;
    for (int i = first; i < argc; ++i) {
        std::string s = argv[i];
        if (s.rfind("--", 0) != 0 || s == "--") {
            a.positional.push_back(s);
            continue;
        }
        std::string name = s.substr(2), value;
        auto eq = name.find('=');
        bool has_value = eq != std::string::npos;
        if (has_value) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
        }
        if (std::find(known.begin(), known.end(), name) == known.end())
            throw UsageError{"unknown option '--" + name + "'"};
        bool flag = std::find(kFlags.begin(), kFlags.end(), name) != kFlags.end();
        if (flag) {
            if (has_value) throw UsageError{"option '--" + name + "' takes no value"};
            value = "1";
        } else if (!has_value) {
            if (i + 1 >= argc) throw UsageError{"option '--" + name + "' needs a value"};
            value = argv[++i];
        }
        a.options.emplace(name, value);
    }
    return a;
}

long long parse_days(const std::string& opt, const std::string& v) {
    char* end = nullptr;
    long long d = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end || d <= 0 || d > 36500)
        throw UsageError{"'--" + opt + "' '" + v + "' is not a number of days (1..36500)"};
    return d;
}

// "2026-01-31T12:00:00Z", "2026-01-31" or "@<unix seconds>", all UTC.
long long parse_time(const std::string& opt, const std::string& v) {
    if (!v.empty() && v[0] == '@') {
        char* end = nullptr;
        long long t = std::strtoll(v.c_str() + 1, &end, 10);
        if (*end || v.size() == 1) throw UsageError{"'--" + opt + "' '" + v + "' is not @<unix seconds>"};
        return t;
    }
    struct tm tm {};
    const char* end = strptime(v.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (!end || *end) {
        tm = {};
        end = strptime(v.c_str(), "%Y-%m-%d", &tm);
    }
    if (!end || *end)
        throw UsageError{"'--" + opt + "' '" + v +
                         "' is not a UTC time (YYYY-MM-DDTHH:MM:SSZ, YYYY-MM-DD or @seconds)"};
    return static_cast<long long>(timegm(&tm));
}

net::Ipv6Address parse_hoa(const std::string& v) {
    auto a = net::Ipv6Address::parse(v);
    if (!a) throw UsageError{"'--home-address' '" + v + "' is not an IPv6 address"};
    return *a;
}

std::vector<net::Prefix> parse_prefixes(const Args& a, const std::string& opt) {
    std::vector<net::Prefix> out;
    for (const auto& v : a.all(opt)) {
        auto p = net::Prefix::parse(v);
        if (!p || v.find('/') == std::string::npos)
            throw UsageError{"'--" + opt + "' '" + v + "' is not a prefix (address/length)"};
        out.push_back(*p);
    }
    return out;
}

// Passphrase: first line of a 0600 file, or of stdin with "-"; never argv.
std::string read_passphrase(const Args& a) {
    auto f = a.get("passphrase-file");
    if (!f) return {};
    std::string text;
    if (*f == "-") {
        std::getline(std::cin, text);
    } else {
        auto r = read_secret_file(*f);
        if (!r) throw r.error();
        text = *r;
        auto nl = text.find('\n');
        if (nl != std::string::npos) text.resize(nl);
    }
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.empty()) throw UsageError{"passphrase from '" + *f + "' is empty"};
    return text;
}

std::time_t now_from(const Args& a) {
    if (auto at = a.get("at")) return static_cast<std::time_t>(parse_time("at", *at));
    return std::time(nullptr);
}

std::string ca_dir(const Args& a) {
    if (auto d = a.get("ca-dir")) return *d;
    if (const char* env = std::getenv("MOBCERT_CA_DIR"); env && *env) return env;
    return "mobcert-ca";
}

template <class T>
T must(Result<T> r) {
    if (!r) throw r.error();
    return r.take();
}

int cmd_init_ca(const Args& a) {
    InitOptions o;
    if (auto v = a.get("name")) o.common_name = *v;
    if (auto v = a.get("key-type")) o.key_type = *v;
    if (auto v = a.get("days")) o.validity_days = parse_days("days", *v);
    if (auto v = a.get("crl-days")) o.crl_days = parse_days("crl-days", *v);
    o.delegated = parse_prefixes(a, "delegate");
    o.passphrase = read_passphrase(a);
    auto ca = must(CertificateAuthority::init(ca_dir(a), o, now_from(a)));
    auto id = must(extract_identity(ca.certificate()));
    std::printf("created CA '%s' in %s (serial %s)\n", id.subject.c_str(), ca.dir().c_str(), id.serial.c_str());
    return kOk;
}

int cmd_issue(const Args& a) {
    IssueOptions o;
    auto role = a.get("role");
    auto id = a.get("id");
    if (!role || !id) throw UsageError{"issue needs --role ha|mn|mr and --id FQDN|user@domain"};
    auto r = parse_role(*role);
    if (!r) throw UsageError{"'--role' '" + *role + "' is not ha, mn or mr"};
    o.node.role = *r;
    o.node.id = *id;
    if (auto v = a.get("home-address")) o.node.home_address = parse_hoa(*v);
    o.node.prefixes = parse_prefixes(a, "prefix");
    if (auto v = a.get("key-type")) o.key_type = *v;
    if (auto v = a.get("days")) o.validity_days = parse_days("days", *v);
    auto nb = a.get("not-before"), na = a.get("not-after");
    if (nb || na) {
        if (!nb || !na) throw UsageError{"'--not-before' and '--not-after' go together"};
        o.node.validity = {parse_time("not-before", *nb), parse_time("not-after", *na)};
    }
    auto ca = must(CertificateAuthority::open(ca_dir(a), read_passphrase(a)));
    std::string out = a.get("out").value_or(ca.dir() + "/nodes/" + o.node.id);
    if (auto s = ca.check_node_target(out, o.node.id); !s) throw s.error();
    auto issued = must(ca.issue(o, now_from(a)));
    if (auto s = ca.write_node(issued, out, o.node.id); !s) throw s.error();
    std::printf("issued %s certificate for '%s', serial %s\n  certificate %s/x509/%s.pem\n"
                "  private key %s/private/%s.pem\n",
                std::string(to_string(o.node.role)).c_str(), o.node.id.c_str(), issued.serial.c_str(), out.c_str(),
                o.node.id.c_str(), out.c_str(), o.node.id.c_str());
    return kOk;
}

int cmd_revoke(const Args& a) {
    if (a.positional.size() != 1) throw UsageError{"revoke needs one SERIAL or IDENTITY"};
    int reason = 0;
    if (auto v = a.get("reason")) {
        auto r = parse_crl_reason(*v);
        if (!r)
            throw UsageError{"'--reason' '" + *v + "' is not an RFC 5280 CRLReason (e.g. keyCompromise, superseded)"};
        reason = *r;
    }
    auto ca = must(CertificateAuthority::open(ca_dir(a), read_passphrase(a)));
    auto e = must(ca.revoke(a.positional[0], reason, now_from(a)));
    std::printf("revoked '%s' (serial %s); CRL written to %s\n", e.id.c_str(), e.serial.c_str(),
                ca.crl_path().c_str());
    return kOk;
}

int cmd_crl(const Args& a) {
    auto ca = must(CertificateAuthority::open(ca_dir(a), read_passphrase(a)));
    long long days = ca.crl_days();
    if (auto v = a.get("days")) days = parse_days("days", *v);
    auto crl = must(ca.write_crl(now_from(a), days));
    std::printf("CRL written to %s\n", ca.crl_path().c_str());
    if (auto out = a.get("out")) {
        if (auto s = make_directories(*out + "/x509crl", 0755); !s) throw s.error();
        if (auto s = replace_file(*out + "/x509crl/ca.crl.pem", ossl::crl_pem(crl.get()), 0644); !s) throw s.error();
        std::printf("CRL copied to %s/x509crl/ca.crl.pem\n", out->c_str());
    }
    return kOk;
}

int cmd_show(const Args& a) {
    if (a.positional.empty()) {
        // The CA index, one tab-separated line per certificate:
        // serial, role, identity, not-after, status.
        for (const auto& e : must(CertificateAuthority::read_index(ca_dir(a))))
            std::printf("%s\t%s\t%s\t%s\t%s\n", e.serial.c_str(), std::string(to_string(e.role)).c_str(),
                        e.id.c_str(), format_utc(e.not_after).c_str(), e.revoked ? "revoked" : "valid");
        return kOk;
    }
    bool first = true;
    for (const auto& f : a.positional) {
        for (auto& c : must(load_certificates(f))) {
            if (!first) std::printf("\n");
            first = false;
            auto id = must(extract_identity(c.get()));
            std::printf("%s%-18s%s\n", describe(id).c_str(), "key:",
                        ossl::key_type_name(X509_get0_pubkey(c.get())).c_str());
        }
    }
    return kOk;
}

std::vector<std::string> files_in(const std::string& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.is_regular_file()) out.push_back(e.path().string());
    std::sort(out.begin(), out.end());
    return out;
}

int cmd_verify(const Args& a) {
    if (a.positional.size() != 1) throw UsageError{"verify needs one CERTIFICATE file or node folder"};
    std::string target = a.positional[0];
    std::string cert_file = target;
    std::optional<std::string> key_file = a.get("key");
    std::vector<std::string> ca_files = a.all("ca"), crl_files = a.all("crl");
    if (fs::is_directory(target)) {
        // A node folder as `issue` writes it: one certificate and one key.
        auto certs = files_in(target + "/x509");
        if (certs.size() != 1)
            throw Error{Errc::invalid_argument, "'" + target + "/x509' holds " + std::to_string(certs.size()) +
                                                    " files; expected the node's one certificate"};
        cert_file = certs[0];
        auto keys = files_in(target + "/private");
        if (!key_file && keys.size() == 1) key_file = keys[0];
        if (ca_files.empty()) ca_files = files_in(target + "/x509ca");
        if (crl_files.empty()) crl_files = files_in(target + "/x509crl");
    } else if (ca_files.empty()) {
        ca_files.push_back(ca_dir(a) + "/x509ca/ca.pem");
        if (crl_files.empty() && fs::exists(ca_dir(a) + "/x509crl/ca.crl.pem"))
            crl_files.push_back(ca_dir(a) + "/x509crl/ca.crl.pem");
    }
    if (a.get("no-crl")) crl_files.clear();
    auto certs = must(load_certificates(cert_file));
    X509* leaf = certs.front().get();
    std::vector<X509*> chain;
    for (size_t i = 1; i < certs.size(); ++i) chain.push_back(certs[i].get());
    if (key_file) {
        auto key = must(load_private_key(*key_file, read_passphrase(a)));
        if (auto s = check_key_matches(leaf, key.get(), *key_file); !s) throw s.error();
    }
    auto trust = must(TrustStore::load(ca_files, crl_files));
    std::time_t now = now_from(a);
    Decision d;
    if (auto hoa = a.get("home-address")) {
        d = decide(trust, leaf, chain, parse_hoa(*hoa), parse_prefixes(a, "prefix"), now);
    } else {
        if (!a.all("prefix").empty()) throw UsageError{"'--prefix' needs '--home-address'"};
        d = trust.verify(leaf, chain, now);
    }
    if (!d.allowed()) {
        std::fprintf(stderr, "mobcert: denied (%s): %s\n", std::string(to_string(d.reason)).c_str(), d.text.c_str());
        return kFailure;
    }
    std::printf("ok: %s%s%s\n", d.text.c_str(), key_file ? "; private key matches" : "",
                crl_files.empty() ? "; revocation not checked (no CRL)" : "");
    return kOk;
}

struct Command {
    const char* name;
    int (*run)(const Args&);
    std::vector<std::string> options;
    const char* help;
};

const std::vector<Command>& commands() {
    static const std::vector<Command> table = {
        {"init-ca", cmd_init_ca, {"ca-dir", "name", "key-type", "days", "crl-days", "delegate", "passphrase-file", "at"},
         "[--name CN] [--key-type ec-p256|rsa3072|ed25519] [--days 3650] [--crl-days 30]\n"
         "          [--delegate PREFIX]... [--passphrase-file FILE|-]     create a CA in --ca-dir"},
        {"issue", cmd_issue,
         {"ca-dir", "role", "id", "home-address", "prefix", "key-type", "days", "not-before", "not-after", "out",
          "passphrase-file", "at"},
         "--role ha|mn|mr --id FQDN|user@domain --home-address ADDR [--prefix PREFIX]...\n"
         "          [--key-type T] [--days 730 | --not-before TIME --not-after TIME] [--out DIR]\n"
         "          issue a node certificate and key into a swanctl folder (default CA-DIR/nodes/ID)"},
        {"revoke", cmd_revoke, {"ca-dir", "reason", "passphrase-file", "at"},
         "SERIAL|IDENTITY [--reason keyCompromise|superseded|...]   revoke, write a new CRL"},
        {"crl", cmd_crl, {"ca-dir", "days", "out", "passphrase-file", "at"},
         "[--days N] [--out DIR]             sign a fresh CRL (and copy it to DIR/x509crl/)"},
        {"show", cmd_show, {"ca-dir"}, "[CERTIFICATE...]                   print certificates, or the CA index"},
        {"verify", cmd_verify,
         {"ca-dir", "ca", "crl", "no-crl", "key", "home-address", "prefix", "at", "passphrase-file"},
         "CERTIFICATE|NODE-DIR [--ca FILE]... [--crl FILE]... [--no-crl] [--key FILE]\n"
         "          [--home-address ADDR [--prefix P]...] [--at TIME]\n"
         "          verify chain and revocation, key match, and the home agent's decision"},
    };
    return table;
}

void usage(FILE* out) {
    std::fprintf(out,
                 "usage: mobcert COMMAND [--ca-dir DIR] [OPTIONS]\n"
                 "--ca-dir defaults to $MOBCERT_CA_DIR, else ./mobcert-ca; TIME is YYYY-MM-DDTHH:MM:SSZ, "
                 "YYYY-MM-DD or @seconds (UTC)\n\n");
    for (const auto& c : commands()) std::fprintf(out, "  %-8s%s\n", c.name, c.help);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        usage(stderr);
        return kUsage;
    }
    std::string name = argv[1];
    if (name == "help" || name == "--help" || name == "-h") {
        usage(stdout);
        return kOk;
    }
    for (const auto& c : commands()) {
        if (name != c.name) continue;
        try {
            auto opts = c.options;
            opts.push_back("help");
            Args a = parse_args(argc, argv, 2, opts);
            if (a.get("help")) {
                std::printf("usage: mobcert %s %s\n", c.name, c.help);
                return kOk;
            }
            return c.run(a);
        } catch (const UsageError& e) {
            std::fprintf(stderr, "mobcert %s: %s\n", c.name, e.text.c_str());
            return kUsage;
        } catch (const Error& e) {
            std::fprintf(stderr, "mobcert %s: %s\n", c.name, e.text.c_str());
            return e.code == Errc::not_found ? kNoMatch : kFailure;
        }
    }
    std::fprintf(stderr, "mobcert: unknown command '%s'\n", name.c_str());
    usage(stderr);
    return kUsage;
}
